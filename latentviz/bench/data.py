"""Benchmark rows for medical image I/O: DICOM reads, windowing, series folders."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

from latentviz.bench.harness import Row, measure

__all__ = ["AREA", "rows", "write_series"]

AREA = "data"


def write_series(
    folder: Path,
    n_slices: int,
    template: str = "CT_small.dcm",
    series_number: int = 1,
    prefix: str = "file",
    step_mm: float = 5.0,
) -> Path:
    """Write ``n_slices`` DICOM slices derived from a pydicom test file into ``folder``.

    Slice ``k`` gets ImagePositionPatient ``origin + k * step_mm`` along z, InstanceNumber
    ``k + 1``, its own SOP Instance UID, and stored values ``template + k`` (so the order of a
    read volume can be checked). Files are written in a shuffled order as ``{prefix}NNN.dcm``.
    """
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    base = pydicom.dcmread(get_testdata_file(template, download=False))
    stored = base.pixel_array
    series_uid = generate_uid()
    order = np.random.default_rng(0).permutation(n_slices)
    origin = [float(v) for v in base.ImagePositionPatient]
    folder.mkdir(parents=True, exist_ok=True)
    for file_no, k in enumerate(order):
        ds = copy.deepcopy(base)  # a shallow copy would share (and overwrite) PixelData
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = int(k) + 1
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + step_mm * int(k)]
        ds.SliceThickness = abs(step_mm)
        ds.PixelData = (stored + int(k)).astype(stored.dtype).tobytes()
        ds.save_as(folder / f"{prefix}{file_no:03d}.dcm", enforce_file_format=True)
    return folder


def _dicom_read_row(name: str, repeats: int) -> Row:
    from pydicom.data import get_testdata_file

    from latentviz.data import read_image

    path = get_testdata_file(name, download=False)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed (pip install pydicom-data)")
    image = read_image(path)
    med, p95 = measure(lambda: read_image(path), repeats=repeats)
    base, _ = measure(lambda: _naive_read(path), repeats=repeats)
    return Row(
        AREA,
        f"read DICOM {name} ({'x'.join(map(str, image.shape))})",
        med,
        "ms",
        p95=p95,
        ratio=base / med,
        baseline=f"dcmread + apply_modality_lut {base:.3g} ms",
        extra={"repeats": repeats, "baseline_ms": base},
    )


def _naive_read(path) -> np.ndarray:
    """The bare pydicom way: read, decode, rescale (no checks, metadata or geometry)."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    ds = pydicom.dcmread(path)
    return apply_modality_lut(ds.pixel_array, ds)


def _naive_series(folder: Path) -> np.ndarray:
    """Read every file, sort by the z of ImagePositionPatient, stack (no checks)."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    slices = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    slices.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    return np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in slices])


def _window_row(side: int, repeats: int) -> Row:
    """latentviz's window map vs pydicom's apply_voi_lut on the same HU image."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.pixels import apply_voi_lut

    from latentviz.data import apply_window

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    ds.WindowCenter, ds.WindowWidth = -600, 1500
    rng = np.random.default_rng(0)
    hu = rng.integers(-1024, 2000, size=(side, side)).astype(np.int16)
    window = (-600.0, 1500.0)
    med, p95 = measure(lambda: apply_window(hu, window), repeats=repeats)
    base, _ = measure(lambda: apply_voi_lut(hu, ds), repeats=repeats)
    return Row(
        AREA,
        f"window {side}x{side} to [0,1] (lung)",
        med,
        "ms",
        p95=p95,
        ratio=base / med,
        baseline=f"pydicom apply_voi_lut {base:.3g} ms",
        extra={"repeats": repeats, "baseline_ms": base},
    )


def _series_row(n_slices: int, repeats: int) -> Row:
    from latentviz.data import read_dicom_series

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_series(Path(tmp) / "series", n_slices)
        med, p95 = measure(lambda: read_dicom_series(folder, progress=False), repeats=repeats, warmup=1)
        base, _ = measure(lambda: _naive_series(folder), repeats=repeats, warmup=1)
    return Row(
        AREA,
        f"read DICOM series folder ({n_slices} x 128x128, shuffled)",
        med,
        "ms",
        p95=p95,
        ratio=base / med,
        baseline=f"dcmread each + sort on z {base:.3g} ms",
        extra={"repeats": repeats, "slices": n_slices, "baseline_ms": base},
    )


def rows(quick: bool = False) -> list[Row]:
    """DICOM read time (CT_small, RG1_UNCI), windowing 512² and 2048², series-folder read."""
    repeats = 5 if quick else 20
    out = [_dicom_read_row("CT_small.dcm", repeats)]
    try:
        out.append(_dicom_read_row("RG1_UNCI.dcm", repeats))
    except FileNotFoundError:  # pydicom-data (a dev extra) not installed: skip that row
        pass
    out.append(_window_row(512, repeats))
    out.append(_window_row(2048, max(3, repeats // 4)))
    out.append(_series_row(16 if quick else 64, max(2, repeats // 4)))
    return out
