"""Is an image foreign to a classifier? Out-of-distribution checks against its model card.

Two checks, both read from the card (the JSON sidecar) of the classifier:

* **acquisition**: the DICOM modality and photometric interpretation of the image against
  the ``training_data`` the card states (a CT model shown a radiograph says so);
* **feature distance**: the Mahalanobis distance of the classifier's penultimate features
  to the nearest class mean of its training phantoms, with one covariance shared by the
  classes (Lee et al., "A Simple Unified Framework for Detecting Out-of-Distribution
  Samples and Adversarial Attacks", NeurIPS 2018, eq. 2). The threshold is a percentile
  (99th by default) of the distances of held-out phantoms, stated on the card.

The statistics (class means and the precision matrix) live in a small safetensors file
beside the weights, ``<name>.ood.safetensors``, written by ``recipes/ood_statistics.py``;
the card's ``ood`` entry names it with its sha256.

>>> from latentviz import zoo
>>> clf = zoo.load("ct-classifier", device="cpu")        # doctest: +SKIP
>>> check_image(clf, torch.zeros(1, 1, 64, 64)).status   # doctest: +SKIP
'out_of_distribution'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentviz.errors import ModelFileError

__all__ = [
    "OOD_SUFFIX",
    "PHANTOM_ACQUISITION",
    "FeatureStatistics",
    "OODVerdict",
    "card_entry",
    "check_acquisition",
    "check_image",
    "check_image_batch",
    "classifier_features",
    "fit_feature_statistics",
    "load_feature_statistics",
    "training_data",
]

#: Suffix of the statistics file beside a model's weights.
OOD_SUFFIX = ".ood.safetensors"

#: What the phantoms imitate, as DICOM would call it (the ``training_data`` of zoo cards).
PHANTOM_ACQUISITION: dict[str, dict[str, Any]] = {
    "ct": {"modality": ["CT"], "photometric": ["MONOCHROME2"], "units": "HU", "what": "thoracic CT slices"},
    "ct-hard": {
        "modality": ["CT"],
        "photometric": ["MONOCHROME2"],
        "units": "HU",
        "what": "thoracic CT slices with pulmonary vessels",
    },
    "cxr-hard": {
        "modality": ["CR", "DX"],
        "photometric": ["MONOCHROME2"],
        "units": "",
        "what": "frontal chest radiographs with rib crossings and vascular markings",
    },
    "cxr": {
        "modality": ["CR", "DX"],
        "photometric": ["MONOCHROME2"],
        "units": "",
        "what": "frontal chest radiographs",
    },
    "brain-hard": {
        "modality": ["MR"],
        "photometric": ["MONOCHROME2"],
        "units": "",
        "what": "axial brain MR slices with enhancing look-alikes",
    },
    "brain": {
        "modality": ["MR"],
        "photometric": ["MONOCHROME2"],
        "units": "",
        "what": "axial brain MR slices",
    },
}

# MONOCHROME1 is inverted on reading, so it reaches the model as MONOCHROME2.
_GREY = {"MONOCHROME1", "MONOCHROME2"}


@dataclass(frozen=True)
class FeatureStatistics:
    """Class means and shared precision of a classifier's penultimate features.

    Attributes
    ----------
    class_means
        ``(K, D)`` mean feature of each training class.
    precision
        ``(D, D)`` inverse of the shared (shrunk) covariance.
    threshold
        Distances above it are out of distribution.
    percentile
        The percentile of held-out distances the threshold is.
    """

    class_means: np.ndarray
    precision: np.ndarray
    threshold: float
    percentile: float = 99.0

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance ``(N,)`` of ``(N, D)`` features to the nearest class mean."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.class_means.shape[1]:
            raise ModelFileError(
                f"features of shape {f.shape} do not match the statistics ({self.class_means.shape[1]} dims)"
            )
        d = f[:, None, :] - self.class_means[None].astype(np.float64)  # (N, K, D)
        sq = np.einsum("nkd,de,nke->nk", d, self.precision.astype(np.float64), d)
        return np.sqrt(np.clip(sq.min(axis=1), 0.0, None))

    def save(self, path: str | Path) -> Path:
        """Write the statistics as safetensors (float32)."""
        from safetensors.numpy import save_file

        path = Path(path)
        save_file(
            {
                "class_means": np.ascontiguousarray(self.class_means, np.float32),
                "precision": np.ascontiguousarray(self.precision, np.float32),
            },
            str(path),
            metadata={"threshold": repr(self.threshold), "percentile": repr(self.percentile)},
        )
        return path


def classifier_features(classifier: Any, x: torch.Tensor, batch_size: int = 256) -> np.ndarray | None:
    """Penultimate features ``(N, D)`` of a latentviz classifier, or None without ``features``.

    The module's own ``features`` method is used (the zoo's PhantomCNN and ResNet have one);
    the images are mapped to the module's input as for a prediction.
    """
    module = getattr(classifier, "module", None)
    if module is None or not callable(getattr(module, "features", None)):
        return None
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            xb = classifier.prepare(torch.as_tensor(x[i : i + batch_size], dtype=torch.float32))
            out.append(module.features(xb).flatten(1).float().cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def fit_feature_statistics(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    holdout_features: np.ndarray,
    percentile: float = 99.0,
    shrinkage: float = 1e-3,
) -> FeatureStatistics:
    """Class means and shared covariance from training features; threshold from held-out ones.

    Parameters
    ----------
    train_features, train_labels
        ``(N, D)`` features and ``(N,)`` integer class labels.
    holdout_features
        ``(M, D)`` features of images not used above (the threshold's calibration set).
    percentile
        Percentile of the held-out distances taken as the threshold.
    shrinkage
        Ridge added to the covariance, as a fraction of its mean variance (keeps it invertible).
    """
    f = np.asarray(train_features, np.float64)
    y = np.asarray(train_labels).astype(np.int64)
    classes = np.unique(y)
    means = np.stack([f[y == k].mean(axis=0) for k in classes])
    resid = f - means[np.searchsorted(classes, y)]
    cov = resid.T @ resid / len(resid)
    cov += shrinkage * np.trace(cov) / len(cov) * np.eye(len(cov))
    stats = FeatureStatistics(means, np.linalg.inv(cov), threshold=np.inf, percentile=percentile)
    threshold = float(np.percentile(stats.distance(holdout_features), percentile))
    return FeatureStatistics(means, stats.precision, threshold, percentile)


def _card_ood(classifier: Any) -> dict | None:
    config = getattr(classifier, "config", None) or {}
    ood = config.get("ood")
    return ood if isinstance(ood, dict) else None


def load_feature_statistics(
    classifier: Any, weights_dir: str | Path | None = None
) -> FeatureStatistics | None:
    """The feature statistics the card of ``classifier`` names, or None when it names none.

    The file is looked up beside the model's weights (the zoo folder for a zoo model, or
    ``weights_dir``) and checked against the sha256 on the card.

    Raises
    ------
    ChecksumError
        When the statistics file differs from the one the card records.
    """
    from safetensors.numpy import load_file

    from latentviz.errors import ChecksumError
    from latentviz.models.io import file_sha256

    ood = _card_ood(classifier)
    if ood is None or "file" not in ood:
        return None
    cache = getattr(classifier, "_ood_statistics", None)
    if cache is not None:
        return cache
    if weights_dir is None:
        from latentviz import zoo

        weights_dir = zoo.WEIGHTS_DIR
    path = Path(weights_dir) / Path(str(ood["file"])).name
    if not path.is_file():
        return None
    if "sha256" in ood and file_sha256(path) != ood["sha256"]:
        raise ChecksumError(f"{path.name}: sha256 differs from the model card's; refusing to use it")
    arrays = load_file(str(path))
    stats = FeatureStatistics(
        arrays["class_means"], arrays["precision"], float(ood["threshold"]), float(ood.get("percentile", 99))
    )
    try:  # one read per classifier object
        classifier._ood_statistics = stats
    except AttributeError:
        pass
    return stats


@dataclass(frozen=True)
class OODVerdict:
    """Whether an image lies inside what a classifier was trained on, and why not.

    Attributes
    ----------
    status
        ``"in_distribution"``, ``"out_of_distribution"`` or ``"unchecked"`` (no statistics
        on the card and nothing else to compare).
    reasons
        Why the image is foreign (one sentence each); empty when it is not.
    notes
        What was checked and passed, or could not be checked.
    distance, threshold
        Feature distance of the image and the card's threshold (None when not measured).
    modality, photometric
        The image's DICOM fields (None for non-DICOM inputs).
    expected
        The card's ``training_data`` (modality, photometric, what).
    """

    status: str
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    distance: float | None = None
    threshold: float | None = None
    modality: str | None = None
    photometric: str | None = None
    expected: dict = field(default_factory=dict)

    @property
    def in_distribution(self) -> bool:
        return self.status == "in_distribution"

    @property
    def foreign(self) -> bool:
        """True when the probability of this image must not be read as a verdict."""
        return self.status == "out_of_distribution"

    @property
    def label(self) -> str:
        """A short label for a badge: ``OUT OF DISTRIBUTION``, ``in distribution``, ``not checked``."""
        return {
            "in_distribution": "in distribution",
            "out_of_distribution": "OUT OF DISTRIBUTION",
        }.get(self.status, "not checked")

    @property
    def message(self) -> str:
        """One line for a page, a figure or a terminal."""
        if self.foreign:
            return "OUT OF DISTRIBUTION: " + "; ".join(self.reasons) + " — the probability is not applicable"
        if self.in_distribution:
            return "in distribution: " + "; ".join(self.notes)
        return "not checked: " + "; ".join(self.notes)

    def probability_text(self, p: float, digits: int = 3) -> str:
        """``p`` formatted, or ``"n/a (out of distribution)"`` for a foreign image."""
        return "n/a (out of distribution)" if self.foreign else f"{p:.{digits}f}"

    def to_dict(self) -> dict:
        """JSON-ready fields (the CLI's ``ood`` entry)."""
        return {
            "status": self.status,
            "label": self.label,
            "probability_applicable": not self.foreign,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "distance": self.distance,
            "threshold": self.threshold,
            "modality": self.modality,
            "photometric": self.photometric,
            "expected": dict(self.expected),
        }


def training_data(classifier: Any) -> dict:
    """The card's ``training_data`` (or the phantom's acquisition for a zoo model)."""
    config = getattr(classifier, "config", None) or {}
    stated = config.get("training_data")
    if isinstance(stated, dict):
        return dict(stated)
    return dict(PHANTOM_ACQUISITION.get(str(config.get("data", "")), {}))


def check_acquisition(classifier: Any, modality: str | None, photometric: str | None) -> tuple[list, list]:
    """``(reasons, notes)`` of comparing an image's modality/photometric with the card's.

    ``modality`` None or ``"OT"`` (a PNG, an array) cannot be compared: a note says so.
    """
    expected = training_data(classifier)
    reasons: list[str] = []
    notes: list[str] = []
    want = [str(m).upper() for m in expected.get("modality", [])]
    what = expected.get("what", "its training data")
    mod = (modality or "").upper()
    if not want:
        notes.append("the model card states no training modality")
    elif mod in ("", "OT"):
        notes.append(f"modality unknown (not DICOM); the model was trained on {'/'.join(want)}")
    elif mod not in want:
        reasons.append(f"image modality {mod}, but the model was trained on {'/'.join(want)} ({what})")
    else:
        notes.append(f"modality {mod} matches")
    phot = (photometric or "").upper()
    want_phot = {str(p).upper() for p in expected.get("photometric", [])}
    if phot and want_phot:
        grey_model = want_phot <= _GREY
        if grey_model and phot not in _GREY:
            reasons.append(f"photometric {phot}, but the model was trained on greyscale images")
        elif phot == "MONOCHROME1" and mod not in ("", "OT"):
            notes.append("MONOCHROME1 (inverted on reading)")
    return reasons, notes


def check_image(
    classifier: Any,
    x: torch.Tensor,
    *,
    modality: str | None = None,
    photometric: str | None = None,
    image: Any = None,
) -> OODVerdict:
    """The out-of-distribution verdict of one model-input image.

    Parameters
    ----------
    classifier
        A :class:`~latentviz.models.Classifier` whose card may carry ``training_data`` and ``ood``.
    x
        ``(1, C, H, W)`` model input in [-1, 1].
    modality, photometric
        DICOM fields of the source (None for arrays and rasters).
    image
        A :class:`~latentviz.data.MedicalImage`: its ``modality`` and ``photometric`` are used.

    Returns
    -------
    OODVerdict
        Out of distribution when the acquisition differs from the card's or the feature
        distance exceeds the card's threshold.
    """
    return check_image_batch(classifier, x[:1], modality=modality, photometric=photometric, image=image)[0]


def check_image_batch(
    classifier: Any,
    x: torch.Tensor,
    *,
    modality: str | None = None,
    photometric: str | None = None,
    image: Any = None,
) -> list[OODVerdict]:
    """:func:`check_image` for each image of a batch ``(N, C, H, W)``, one feature pass.

    The acquisition fields (or ``image``'s) apply to every image of the batch.
    """
    from latentviz.errors import LatentvizError

    if image is not None:
        modality = modality or getattr(image, "modality", None)
        photometric = photometric or getattr(image, "photometric", None)
    if modality is not None and modality.upper() == "OT":
        photometric = None  # a raster's default, not a recorded field
    reasons, notes = check_acquisition(classifier, modality, photometric)
    stats = load_feature_statistics(classifier)
    distances: list[float | None] = [None] * len(x)
    missing = "no feature statistics on the model card"
    if stats is not None:
        try:
            feats = classifier_features(classifier, x)
        except LatentvizError as exc:  # an input the classifier refuses: say so, do not fail here
            feats, missing = None, f"feature distance not measured ({exc})"
        if feats is not None:
            distances = [float(d) for d in stats.distance(feats)]
    out = []
    for distance in distances:
        why, seen = list(reasons), list(notes)
        threshold = None if distance is None or stats is None else float(stats.threshold)
        if distance is None or threshold is None:
            seen.append(missing)
        elif distance > threshold:
            why.append(
                f"far from the training images (feature distance {distance:.1f} > {threshold:.1f}, "
                f"the {stats.percentile:g}th percentile of held-out phantoms)"
            )
        else:
            seen.append(f"feature distance {distance:.1f} ≤ {threshold:.1f}")
        status = (
            "out_of_distribution" if why else ("in_distribution" if threshold is not None else "unchecked")
        )
        out.append(
            OODVerdict(
                status,
                tuple(why),
                tuple(seen),
                distance,
                threshold,
                modality if modality and modality.upper() != "OT" else None,
                photometric,
                training_data(classifier),
            )
        )
    return out


def card_entry(stats: FeatureStatistics, path: Path, **extra: Any) -> dict:
    """The card's ``ood`` entry for statistics written to ``path``."""
    from latentviz.models.io import file_sha256

    return {
        "method": "mahalanobis-penultimate (Lee et al. 2018), nearest class mean, shared covariance",
        "threshold": round(float(stats.threshold), 4),
        "percentile": float(stats.percentile),
        "file": path.name,
        "sha256": file_sha256(path),
        "dims": int(stats.class_means.shape[1]),
        **extra,
    }
