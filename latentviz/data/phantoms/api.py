"""``generate``, ``render`` and ``factor_names``: the phantom entry points."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

import numpy as np
from tqdm.auto import tqdm

from latentviz.data.phantoms.batch import PhantomBatch
from latentviz.data.phantoms.errors import PhantomArgumentError

__all__ = ["HARD_KINDS", "KINDS", "SIZES", "factor_names", "generate", "render", "to_model_range"]

KINDS = ("cxr", "ct", "brain", "ct-hard", "cxr-hard", "brain-hard")
#: Kinds whose lesions have a difficulty knob (``generate(…, difficulty=)``).
HARD_KINDS = ("ct-hard", "cxr-hard", "brain-hard")
SIZES = (64, 128, 256)
_MIN_SIZE, _MAX_SIZE = 32, 512
# Samples rendered per chunk: bounds memory at large sizes and drives the progress bar.
_CHUNK_PIXELS = 256 * 64 * 64


def _module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise PhantomArgumentError(f"kind={kind!r}: unknown phantom; choose one of {KINDS}")
    return importlib.import_module(f"latentviz.data.phantoms.{kind.replace('-', '_')}")


def factor_names(kind: str) -> list[str]:
    """Names of the ground-truth factors of ``kind``, in a stable order."""
    return list(_module(kind).FACTORS)


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise PhantomArgumentError(f"size={size!r}: must be an integer number of pixels")
    if not _MIN_SIZE <= size <= _MAX_SIZE:
        raise PhantomArgumentError(f"size={size}: must be between {_MIN_SIZE} and {_MAX_SIZE} (e.g. {SIZES})")
    return int(size)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PhantomArgumentError(f"seed={seed!r}: must be a non-negative integer")
    return int(seed)


def to_model_range(raw: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Map ``raw`` through ``window = (center, width)`` to ``[-1, 1]`` (clipped), float32."""
    center, width = window
    return np.clip(2.0 * (raw - (center - width / 2.0)) / width - 1.0, -1.0, 1.0).astype(np.float32)


def generate(
    kind: str,
    n: int,
    size: int = 64,
    seed: int = 0,
    positive_fraction: float = 0.5,
    labels: np.ndarray | None = None,
    progress: bool | None = None,
    difficulty: float | None = None,
) -> PhantomBatch:
    """Draw ``n`` phantom images with their labels, masks and factors.

    Parameters
    ----------
    kind
        ``"cxr"`` (chest radiograph), ``"ct"`` (thoracic CT slice), ``"brain"`` (MNI152
        MRI slice; needs nilearn) or ``"ct-hard"`` (the CT slice with branching vessels,
        vessel cross-sections that look like nodules, airways and more partial-volume blur) or
        ``"cxr-hard"`` (the radiograph with rib crossings, vascular markings, nipple shadows
        and textured opacities with air bronchograms) or ``"brain-hard"`` (the MRI slice with
        enhancing look-alikes and tumours from ring-enhancing to non-enhancing; needs nilearn).
    n
        Number of samples.
    size
        Image side in pixels (64, 128 or 256 are the tested sizes; 32 to 512 work).
    seed
        The batch is a deterministic function of ``(kind, n, size, seed, labels)``.
    positive_fraction
        Fraction of positives, rounded to a whole count and shuffled; ignored when
        ``labels`` is given.
    labels
        Optional ``(n,)`` array of 0/1 labels to render.
    progress
        Show a progress bar; by default only for batches of more than a few chunks.
    difficulty
        Hard kinds only (:data:`HARD_KINDS`): 0 … 1, smaller and fainter lesions as it
        grows (default: the kind's ``DEFAULT_DIFFICULTY``).

    Returns
    -------
    PhantomBatch

    Examples
    --------
    >>> batch = generate("cxr", 8, size=64, seed=0)
    >>> batch.images.shape, batch.masks[batch.labels == 0].any()
    ((8, 1, 64, 64), np.False_)
    """
    mod = _module(kind)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PhantomArgumentError(f"n={n!r}: must be a positive integer")
    size, seed = _check_size(size), _check_seed(seed)
    rng = np.random.default_rng([seed, 0])
    if labels is None:
        if not 0.0 <= float(positive_fraction) <= 1.0:
            raise PhantomArgumentError(f"positive_fraction={positive_fraction!r}: must lie in [0, 1]")
        n_pos = round(float(positive_fraction) * n)
        labels = rng.permutation(np.arange(n) < n_pos).astype(np.int64)
    else:
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.isin(labels, (0, 1)).all():
            raise PhantomArgumentError(f"labels: must be {n} values, each 0 or 1; got {labels!r}")
        labels = labels.astype(np.int64)
    if difficulty is not None and kind not in HARD_KINDS:
        raise PhantomArgumentError(f"difficulty: only the hard kinds {HARD_KINDS} have one, not {kind!r}")
    if kind in HARD_KINDS:
        factors = mod.sample_factors(rng, labels, difficulty=difficulty)
    else:
        factors = mod.sample_factors(rng, labels)
    return render(kind, factors, size=size, seed=seed, progress=progress)


def render(
    kind: str,
    factors: Mapping[str, np.ndarray],
    size: int = 64,
    seed: int = 0,
    progress: bool | None = None,
) -> PhantomBatch:
    """Render chosen factors (e.g. a batch's factors with one changed).

    The noise and texture come from ``seed``, so ``render(kind, batch.factors,
    size, seed)`` reproduces ``generate(kind, n, size, seed)`` exactly, and
    setting ``lesion_count`` to 0 renders the same patients without their lesions.
    Labels follow from ``lesion_count > 0``.
    """
    mod = _module(kind)
    size, seed = _check_size(size), _check_seed(seed)
    names = mod.FACTORS
    missing = [k for k in names if k not in factors]
    extra = [k for k in factors if k not in names]
    if missing or extra:
        raise PhantomArgumentError(f"factors: missing {missing}, unknown {extra} for kind {kind!r}")
    f = {k: np.atleast_1d(np.asarray(factors[k], dtype=np.float32)) for k in names}
    n = f[names[0]].shape[0]
    bad = [k for k, v in f.items() if v.shape != (n,) or not np.isfinite(v).all()]
    if bad or n < 1:
        raise PhantomArgumentError(f"factors: {bad} must be finite 1-D arrays of one common length n >= 1")
    # Negatives carry no lesion: zero their lesion factors so labels and factors agree.
    labels = (f["lesion_count"] > 0).astype(np.int64)
    for k in names:
        if k.startswith("lesion"):
            f[k] = np.where(labels > 0, f[k], 0.0).astype(np.float32)

    rng = np.random.default_rng([seed, 1])
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    starts = range(0, n, chunk)
    show = progress if progress is not None else len(starts) > 8
    raw = np.empty((n, size, size), np.float32)
    masks = np.empty((n, size, size), bool)
    for s in tqdm(starts, desc=f"phantom {kind}", unit="chunk", disable=not show):
        part = {k: v[s : s + chunk] for k, v in f.items()}
        raw[s : s + chunk], masks[s : s + chunk] = mod.render_raw(part, size, rng)
    masks &= labels[:, None, None] > 0
    window = tuple(float(w) for w in mod.WINDOW)
    return PhantomBatch(
        kind=kind,
        images=to_model_range(raw, window)[:, None],
        raw=raw,
        labels=labels,
        masks=masks,
        factors=f,
        window=window,
        seed=seed,
        meta={"units": getattr(mod, "UNITS", "a.u."), "size": size},
    )
