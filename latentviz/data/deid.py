"""De-identification of DICOM metadata (DICOM PS3.15 Annex E, Basic Application Level Profile).

Two uses:

* :func:`safe_metadata` builds the metadata dict a :class:`~latentviz.data.MedicalImage` keeps.
  It is an *allow list*: only technical attributes that cannot identify a patient get through.
* :func:`deidentify_dataset` returns a de-identified copy of a whole dataset for export. It is a
  *deny list* applied recursively (nested sequences included): every attribute of the Basic
  Profile table (:data:`latentviz.data.annex_e.BASIC_PROFILE`) gets its action (removed,
  blanked, a dummy value or a new UID), every other person name, date and time is blanked,
  private tags, curves and overlays are removed, and instance UIDs are replaced by new ones
  (consistently, so a series stays a series).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, generate_uid

from latentviz.data.annex_e import BASIC_PROFILE

__all__ = [
    "IDENTIFYING_KEYWORDS",
    "SAFE_KEYWORDS",
    "deidentify_dataset",
    "safe_metadata",
]

# Attributes of PS3.15 Table E.1-1 (Basic Profile) that can carry identifying text, plus a few
# commonly abused free-text fields. Person names (VR PN), dates/times (DA/DT/TM) and UIDs (UI)
# are handled by VR as well, so those listed here are belt and braces.
IDENTIFYING_KEYWORDS: frozenset[str] = frozenset(
    {
        # patient
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "OtherPatientIDs",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "PatientBirthName",
        "PatientMotherBirthName",
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientAge",
        "PatientSex",
        "PatientSize",
        "PatientWeight",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "PatientTelecomInformation",
        "MilitaryRank",
        "BranchOfService",
        "EthnicGroup",
        "Occupation",
        "PatientReligiousPreference",
        "MedicalRecordLocator",
        "PatientInsurancePlanCodeSequence",
        "PatientPrimaryLanguageCodeSequence",
        "CountryOfResidence",
        "RegionOfResidence",
        "PatientComments",
        "AdditionalPatientHistory",
        "PatientState",
        "PregnancyStatus",
        "LastMenstrualDate",
        "SmokingStatus",
        "MedicalAlerts",
        "Allergies",
        "SpecialNeeds",
        "ResponsiblePerson",
        "ResponsibleOrganization",
        "PatientSexNeutered",
        "InsurancePlanIdentification",
        "PersonName",
        "PersonAddress",
        "PersonTelephoneNumbers",
        "PatientIdentityRemoved",
        # visit / admission
        "AdmissionID",
        "IssuerOfAdmissionIDSequence",
        "AdmittingDiagnosesDescription",
        "AdmittingDiagnosesCodeSequence",
        "AdmittingDate",
        "AdmittingTime",
        "CurrentPatientLocation",
        "PatientInstitutionResidence",
        "ServiceEpisodeID",
        "ServiceEpisodeDescription",
        "VisitComments",
        "DischargeDiagnosisDescription",
        # study / request / procedure
        "AccessionNumber",
        "IssuerOfAccessionNumberSequence",
        "StudyID",
        "StudyDescription",
        "SeriesDescription",
        "StudyComments",
        "RequestAttributesSequence",
        "RequestedProcedureID",
        "RequestedProcedureDescription",
        "RequestedProcedureComments",
        "ReasonForTheRequestedProcedure",
        "ReasonForStudy",
        "ScheduledProcedureStepID",
        "ScheduledProcedureStepDescription",
        "PerformedProcedureStepID",
        "PerformedProcedureStepDescription",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformedProcedureStepEndDate",
        "PerformedProcedureStepEndTime",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
        "OrderCallbackPhoneNumber",
        "OrderEnteredBy",
        "OrderEntererLocation",
        "ImagingServiceRequestComments",
        "InterpretationText",
        "InterpretationAuthor",
        "ResultsComments",
        "ClinicalTrialSponsorName",
        "ClinicalTrialSubjectID",
        "ClinicalTrialSubjectReadingID",
        "ClinicalTrialSiteName",
        "ClinicalTrialProtocolName",
        # people and places
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionCodeSequence",
        "ReferringPhysicianName",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "ReferringPhysicianIdentificationSequence",
        "ConsultingPhysicianName",
        "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence",
        "PerformingPhysicianName",
        "PerformingPhysicianIdentificationSequence",
        "NameOfPhysiciansReadingStudy",
        "PhysiciansReadingStudyIdentificationSequence",
        "RequestingPhysician",
        "ScheduledPerformingPhysicianName",
        "OperatorsName",
        "OperatorIdentificationSequence",
        "ReviewerName",
        "VerifyingObserverName",
        "VerifyingObserverIdentificationCodeSequence",
        "PersonIdentificationCodeSequence",
        "ContentCreatorName",
        "StationName",
        "DeviceSerialNumber",
        "DetectorID",
        "PlateID",
        "GantryID",
        "CassetteID",
        "GeneratorID",
        "DeviceUID",
        "ProtocolName",
        "AcquisitionComments",
        "ImageComments",
        "FrameComments",
        "DerivationDescription",
        "TextString",
        "TextComments",
        "TopicAuthor",
        "TopicKeywords",
        "TopicSubject",
        "TopicTitle",
        "GraphicAnnotationSequence",
        "ModifiedAttributesSequence",
        "OriginalAttributesSequence",
        "DigitalSignaturesSequence",
        "ReferencedPatientSequence",
        "ReferencedPatientPhotoSequence",
        "ReferencedStudySequence",
        "ReferencedPerformedProcedureStepSequence",
        "StorageMediaFileSetUID",
        "StorageMediaFileSetID",
    }
)

# Technical attributes :func:`safe_metadata` lets through (none can identify a patient).
SAFE_KEYWORDS: tuple[str, ...] = (
    "Modality",
    "SOPClassUID",
    "ImageType",
    "BodyPartExamined",
    "ViewPosition",
    "PatientPosition",
    "PhotometricInterpretation",
    "SamplesPerPixel",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImageOrientationPatient",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "PresentationLUTShape",
    "KVP",
    "ExposureTime",
    "XRayTubeCurrent",
    "Exposure",
    "ConvolutionKernel",
    "MagneticFieldStrength",
    "RepetitionTime",
    "EchoTime",
    "FlipAngle",
    "MRAcquisitionType",
    "ScanningSequence",
    "LossyImageCompression",
)

# The VRs whose every value is treated as identifying, wherever it appears.
_BLANK_VRS = frozenset({"PN", "DA", "DT", "TM"})


def _jsonable(value: Any) -> Any:
    """A DICOM value as plain Python (numbers, strings, lists); a UID as its standard name."""
    if isinstance(value, UID):
        return value.name
    if isinstance(value, float):  # pydicom's DSfloat
        return float(value)
    if isinstance(value, int):  # pydicom's IS
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_jsonable(v) for v in value]
    return str(value)


def safe_metadata(ds: Dataset) -> dict[str, Any]:
    """Technical, non-identifying metadata of ``ds`` as a JSON-ready dict (allow list).

    Includes the transfer syntax name and the SOP class name (not its UID).
    """
    meta: dict[str, Any] = {}
    unreadable: list[str] = []
    for keyword in SAFE_KEYWORDS:
        try:  # pydicom parses values lazily: a damaged element fails only here
            value = ds.get(keyword)
            if value is None or value == "":
                continue
            meta[keyword] = _jsonable(value)
        except Exception:  # unknown VR, bad length, undecodable text, …
            unreadable.append(keyword)
    fm = getattr(ds, "file_meta", None)
    try:
        if fm is not None and "TransferSyntaxUID" in fm:
            meta["TransferSyntax"] = UID(str(fm.TransferSyntaxUID)).name
    except Exception:
        unreadable.append("TransferSyntaxUID")
    if unreadable:  # optional metadata: skipped, but said so
        meta["unreadable_elements"] = unreadable
    return meta


class _UIDMap:
    """Replaces instance UIDs by new ones, the same new UID for the same old one."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self.seen: dict[str, str] = {}

    def __call__(self, old: str) -> str:
        if old not in self.seen:
            # A hash of (salt, old): the original cannot be read back from the new UID.
            digest = hashlib.sha256(f"{self.salt}|{old}".encode()).hexdigest()
            self.seen[old] = str(generate_uid(prefix="2.25.", entropy_srcs=[digest]))
        return self.seen[old]


def _is_well_known(uid: str) -> bool:
    """Standard DICOM UIDs (SOP classes, transfer syntaxes, coding schemes) are not identifiers."""
    from pydicom._uid_dict import UID_dictionary  # the table of every UID the standard defines

    return uid in UID_dictionary


def _blank(elem: DataElement) -> None:
    elem.value = [] if elem.VR == "SQ" else None


#: Dummy values for the Basic Profile's ``D`` action, by VR (other VRs are blanked).
_DUMMIES: dict[str, Any] = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "PN": "ANONYMOUS",
    "AS": "000Y",
    **{vr: "ANONYMIZED" for vr in ("AE", "CS", "SH", "LO", "ST", "LT", "UT", "UC", "UR")},
    **{vr: 0 for vr in ("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "IS", "DS")},
}


def _dummy(elem: DataElement) -> None:
    if elem.VR in _DUMMIES:
        elem.value = _DUMMIES[elem.VR]
    else:
        _blank(elem)


def _clean(ds: Dataset, uids: _UIDMap) -> None:
    """De-identify ``ds`` in place, recursing into sequences."""
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private:
            del ds[tag]
            continue
        if 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
            # Curves (50xx) and overlays (60xx) may hold burned-in text.
            del ds[tag]
            continue
        keyword = elem.keyword
        if keyword in ("PatientName", "PatientID"):
            elem.value = "ANONYMOUS"  # type 2 in most IODs: keep present, no identity
            continue
        act = BASIC_PROFILE.get(int(tag))
        if keyword in IDENTIFYING_KEYWORDS or (act is not None and act.startswith("X")):
            del ds[tag]  # X, X/Z, X/D, X/Z/D, X/Z/U*: removing is always allowed
            continue
        if act in ("Z", "Z/D"):
            _blank(elem)
            continue
        if act == "D":
            if elem.VR == "SQ":  # a dummy sequence: the same items, de-identified
                for item in elem.value:
                    _clean(item, uids)
            elif elem.VR == "UI":
                elem.value = uids(str(elem.value)) if elem.value else elem.value
            else:
                _dummy(elem)
            continue
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, uids)
        elif elem.VR in _BLANK_VRS:
            _blank(elem)
        elif elem.VR == "UI" and elem.value:
            if elem.VM > 1:
                elem.value = [v if _is_well_known(v) else uids(v) for v in elem.value]
            elif not _is_well_known(str(elem.value)):
                elem.value = uids(str(elem.value))


def deidentify_dataset(ds: Dataset, salt: str | None = None) -> Dataset:
    """A de-identified deep copy of ``ds``, ready to save.

    Parameters
    ----------
    ds
        The dataset (not modified).
    salt
        Makes the UID replacement reproducible: the same ``salt`` maps the same original UID to
        the same new one across files (so a series stays one series). ``None`` uses a fresh
        random salt, so nothing links the output to the input.

    Returns
    -------
    Dataset
        A copy with PatientName/PatientID set to ``"ANONYMOUS"``, every Basic Profile
        attribute given its action (``X`` removed, ``Z`` blanked, ``D`` a dummy value or, for a
        sequence, its items de-identified, ``U`` a new UID; a choice such as ``X/Z`` is
        removed), the other identifying attributes (:data:`IDENTIFYING_KEYWORDS`) removed,
        every other person name, date and time blanked, private tags, curves and overlays
        removed, instance UIDs replaced (file meta included), and
        ``PatientIdentityRemoved = "YES"``. Pixel data is untouched: burned-in
        annotations are not detected.
    """
    out = copy.deepcopy(ds)
    uids = _UIDMap(salt if salt is not None else str(generate_uid()))
    _clean(out, uids)
    fm = getattr(out, "file_meta", None)
    if fm is not None:
        for keyword in ("MediaStorageSOPInstanceUID",):
            if keyword in fm and not _is_well_known(str(fm[keyword].value)):
                fm[keyword].value = uids(str(fm[keyword].value))
        # The writing software's identity can fingerprint a site: state ours (pydicom's) instead.
        fm.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        fm.ImplementationVersionName = f"PYDICOM {pydicom.__version__}"[:16]
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle"):
            if keyword in fm:
                del fm[keyword]
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = "latentviz: DICOM PS3.15 Basic Profile"  # LO: at most 64 chars
    return out
