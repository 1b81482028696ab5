"""Turn what a user types (a zoo name, a method name) into models and direction sets.

Shared by the one-liners of both front ends (``DirectionExplorer.from_zoo`` and the
dashboard's ``--model``), so neither view resolves names itself.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentviz.directions import DirectionSet
from latentviz.errors import LatentvizError, ShapeError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = [
    "as_model_image",
    "default_classifier",
    "default_window",
    "discover",
    "discovery_methods",
    "load_classifier",
    "load_generator",
    "load_model",
    "medical_image",
    "model_intensity",
    "phantom_kind",
]


def discovery_methods() -> dict[str, dict[str, Any]]:
    """Direction-discovery methods a one-liner runs quickly (those the registry marks
    ``interactive``), with their quick options (:attr:`DirectionMethod.quick`)."""
    from latentviz.directions.registry import methods

    return {m.name: dict(m.quick) for m in methods(interactive=True)}


def __getattr__(name: str) -> Any:
    # DISCOVERY_METHODS, read from the registry when asked for.
    if name == "DISCOVERY_METHODS":
        return discovery_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_model(
    name_or_path: str | Path,
    device: str | None = None,
    *,
    role: str | None = None,
    latent_shape: str | int | tuple[int, ...] | None = None,
    flag: str | None = None,
) -> Generator | Classifier:
    """A latentviz model file (``.safetensors`` + ``.json`` sidecar, suffix optional), a
    TorchScript file, or the zoo model of that name; on ``device`` (default: the best
    available). The one resolver of every front end: :func:`latentviz.models.resolve.resolve_model`
    (``role``, ``latent_shape`` and ``flag`` are its arguments)."""
    from latentviz.models.resolve import resolve_model

    return resolve_model(name_or_path, role=role, device=device, latent_shape=latent_shape, flag=flag)


def load_generator(
    model: str | Path | Generator, latent_shape: str | int | tuple[int, ...] | None = None
) -> Generator:
    """A :class:`Generator` from itself, a zoo name, a model file or a TorchScript file."""
    if isinstance(model, Generator):
        return model
    if isinstance(model, (str, Path)):
        return load_model(model, role="generator", latent_shape=latent_shape)  # type: ignore[return-value]
    raise LatentvizError(f"expected a Generator, a zoo name or a model file, got {type(model).__name__}")


def load_classifier(classifier: str | Path | Classifier | None) -> Classifier | None:
    """A :class:`Classifier` from itself, a zoo name, a model file, a TorchScript file, or None."""
    if classifier is None or isinstance(classifier, Classifier):
        return classifier
    if isinstance(classifier, (str, Path)):
        return load_model(classifier, role="classifier")  # type: ignore[return-value]
    raise LatentvizError(
        f"expected a Classifier, a zoo name, a model file or None, got {type(classifier).__name__}"
    )


def discover(generator: Generator, method: str = "sefa", k: int = 6, **options: Any) -> DirectionSet:
    """Directions of ``generator`` by any registered ``method`` through
    :func:`latentviz.directions.discover`, with the method's quick options
    (:attr:`~latentviz.directions.registry.DirectionMethod.quick`) unless ``options``
    override them.

    Raises
    ------
    UnknownMethodError
        For a name no method registered (a :class:`LatentvizError`).
    """
    from latentviz.directions.discover import discover as run_discovery
    from latentviz.directions.registry import get_method
    from latentviz.models.style import StyleGenerator

    if isinstance(generator, StyleGenerator) and method != "voynov":
        from latentviz.directions.style import discover_style

        return discover_style(generator, method, k, **options)
    quick = dict(get_method(method).quick)
    return run_discovery(generator, method, k, **{**quick, **options})


def phantom_kind(generator: Generator) -> str | None:
    """The phantom (``"cxr"``, ``"ct"``, ``"brain"``) a zoo model was trained on, or None."""
    from latentviz.data.phantoms import KINDS

    config = getattr(generator, "config", {}) or {}
    for cand in (str(config.get("data", "")), str(getattr(generator, "name", "")).split("-")[0]):
        if cand in KINDS:
            return cand
    return None


def model_intensity(generator: Generator) -> tuple[tuple[float, float] | None, str | None]:
    """``((center, width), units)`` that the model's ``[-1, 1]`` spans, as far as known.

    A ``"window"`` in the model's config wins (units unknown: None); a zoo model trained
    on a phantom gets the phantom's window and units (HU for the CT phantom). ``(None,
    None)`` when nothing says how the model's intensities were scaled.
    """
    config = getattr(generator, "config", {}) or {}
    if config.get("window") is not None:
        c, w = config["window"]
        return (float(c), float(w)), config.get("units")
    kind = phantom_kind(generator)
    if kind is None:
        return None, None
    mod = importlib.import_module(f"latentviz.data.phantoms.{kind}")
    return (float(mod.WINDOW[0]), float(mod.WINDOW[1])), str(getattr(mod, "UNITS", "a.u."))


def default_classifier(generator: Generator) -> Classifier | None:
    """The zoo classifier of the phantom ``generator`` was trained on (``ct-classifier`` for
    ``ct-medxgan``), or None for a model outside the zoo."""
    kind = phantom_kind(generator)
    if kind is None:
        return None
    from latentviz import zoo

    names = {card.name for card in zoo.list_models()}
    return load_classifier(f"{kind}-classifier") if f"{kind}-classifier" in names else None


def default_window(image: Any, generator: Generator) -> tuple[float, float] | None:
    """The window every front end uses for ``image`` unless told otherwise.

    The model's own window (:func:`model_intensity`) when its units match the image's (a
    CT in HU into ct-medxgan: C -600, W 1500), else None: the file's own window, else the
    0.5-99.5 percentiles. The dashboard lists it first as "model's window" and the CLI's
    ``--window`` defaults to it.
    """
    window, units = model_intensity(generator)
    image_units = getattr(image, "units", "")
    if window is not None and units and image_units and units == image_units:
        return window
    return None


def medical_image(image: Any) -> Any:
    """The :class:`~latentviz.data.MedicalImage` behind ``image`` (read when a path), or None.

    A volume gives its middle slice along the first axis (axial for NIfTI), as uploads do.
    """
    if isinstance(image, (str, Path)):
        from latentviz.data import read_image

        image = read_image(image)
    from latentviz.data import MedicalImage

    if not isinstance(image, MedicalImage):
        return None
    return image.slice(0, image.shape[0] // 2) if image.is_volume else image


def as_model_image(image: Any, generator: Generator, window: Any = None) -> torch.Tensor:
    """One image as model input ``(1, C, H, W)`` in ``[-1, 1]`` on the CPU.

    ``image`` is a tensor/array already in ``[-1, 1]``, a
    :class:`~latentviz.data.MedicalImage` or a path (DICOM, NIfTI, PNG, …) read with
    :func:`latentviz.data.read_image`, fitted to the generator's size with ``window`` (a
    ``(center, width)`` pair or a preset name; default: :func:`default_window`).

    Raises
    ------
    ShapeError
        For an empty image, a batch of several images, NaN/inf values, or values outside
        ``[-1, 1]``.
    """
    source = medical_image(image)
    if source is not None:
        window = default_window(source, generator) if window is None else window
        return source.to_model_input(generator.image_shape[-1], window)
    x = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
    x = x.detach().to("cpu", torch.float32)
    while x.ndim < 4:
        x = x.unsqueeze(0)
    if x.numel() == 0:
        raise ShapeError(f"the image is empty (shape {tuple(x.shape)})")
    if x.ndim != 4 or x.shape[0] != 1:
        raise ShapeError(f"explain one image (H, W), (C, H, W) or (1, C, H, W); got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ShapeError("the image contains NaN or infinite values")
    if x.min() < -1.001 or x.max() > 1.001:
        raise ShapeError(
            f"image values span [{float(x.min()):.3g}, {float(x.max()):.3g}]; pass model input in "
            "[-1, 1] (MedicalImage.to_model_input does this) or a file path"
        )
    return x
