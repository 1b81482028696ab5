"""``latentviz info PATH``: what an image file holds, without any patient identifier."""

from __future__ import annotations

import argparse

import numpy as np

from latentviz.cli import print_json

HELP = "describe a medical image (DICOM file or folder, NIfTI, PNG/JPEG/TIFF, NPZ); no identifiers"
DESCRIPTION = (
    "Print modality, shape, spacing, units, value range, window, photometric interpretation, frames "
    "and transfer syntax of an image. Only de-identified technical metadata is shown."
)

# Technical metadata shown after the summary, when present.
_DETAIL_KEYS = ("BodyPartExamined", "ViewPosition", "BitsStored", "format", "original_orientation")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a DICOM file or series folder, NIfTI, PNG/JPEG/TIFF file or folder, or .npz")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--series",
        default=None,
        help="SeriesNumber, SeriesInstanceUID or its prefix in a mixed DICOM folder (the error names each)",
    )
    p.add_argument("--key", default=None, help="array name in an .npz holding several (e.g. train_images)")
    p.add_argument("--index", type=int, default=None, help="sample index in a batch array of an .npz")


def describe(image) -> dict:
    """The ``info`` fields of a :class:`~latentviz.data.MedicalImage` as a JSON-ready dict."""
    pixels = image.pixels
    meta = image.metadata
    frames = meta.get(
        "frames", meta.get("slices", meta.get("pages", pixels.shape[0] if image.is_volume else 1))
    )
    info = {
        "source": image.source,
        "modality": image.modality,
        "shape": list(pixels.shape),
        "spacing": [round(s, 6) for s in image.spacing],
        "spacing_unit": meta.get("spacing_unit", "mm"),
        "units": image.units,
        "min": float(np.min(pixels)),
        "max": float(np.max(pixels)),
        "mean": float(np.mean(pixels)),
        "window": list(image.window) if image.window is not None else None,
        "photometric": image.photometric,
        "frames": int(frames),
        "transfer_syntax": meta.get("TransferSyntax"),
        "orientation": meta.get("orientation", "RAS" if image.affine is not None else None),
    }
    if "SOPClassUID" in meta:
        info["sop_class"] = meta["SOPClassUID"]  # already the class name, not a UID
    info.update({k: meta[k] for k in _DETAIL_KEYS if k in meta})
    return info


def run(args: argparse.Namespace) -> int:
    from latentviz.data import read_image

    options = {k: getattr(args, k) for k in ("series", "key", "index") if getattr(args, k) is not None}
    info = describe(read_image(args.path, **options))
    if args.json:
        print_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if value is None:
            continue
        if value == "":
            value = "-"
        elif isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, list):
            value = " x ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
            if key == "window":
                value = value.replace(" x ", ", ") + "  (center, width)"
        print(f"{key:<{width}}  {value}")
    return 0
