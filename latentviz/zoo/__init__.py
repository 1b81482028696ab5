"""The bundled model zoo: small generators and classifiers trained on the phantoms by
``recipes/train_zoo.py``, shipped as safetensors with their JSON model cards.

>>> from latentviz import zoo
>>> g = zoo.load("cxr-dcgan")                # doctest: +SKIP
>>> images = g(g.sample_latents(8, seed=0))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from latentviz.errors import ModelFileError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator
from latentviz.models.io import load_wrapped, model_paths

__all__ = ["WEIGHTS_DIR", "ModelCard", "card", "list_models", "load", "names", "path_of"]

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ModelCard:
    """What ``latentviz zoo list`` shows about one bundled model (read from its JSON)."""

    name: str
    kind: str
    architecture: str
    data: str
    image_size: int
    latent_dim: int | None
    file_bytes: int
    recipe: str
    train_seconds: float | None
    device: str
    quality: dict
    config: dict

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("config")
        return d


def names() -> list[str]:
    """Names of the bundled models (those with both a weights file and a card)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json") if p.with_suffix(".safetensors").is_file())


def path_of(name: str) -> Path:
    """The weights file of a bundled model."""
    if name not in names():
        raise ModelFileError(f"no zoo model {name!r}; bundled: {', '.join(names()) or 'none'}")
    return model_paths(WEIGHTS_DIR / name)[0]


def card(name: str) -> ModelCard:
    """The model card of a bundled model."""
    cfg = json.loads(model_paths(path_of(name))[1].read_text())
    kw = cfg.get("kwargs", {})
    latent = kw.get("latent_dim")
    if latent is None and "w_dim" in kw:  # style-based: the size of one w
        latent = int(kw["w_dim"])
    if latent is None and "anatomy_dim" in kw:
        latent = int(kw["anatomy_dim"]) + int(kw["pathology_dim"])
    return ModelCard(
        name=name,
        kind=cfg.get("kind", ""),
        architecture=cfg["architecture"],
        data=cfg.get("data", ""),
        image_size=int(cfg.get("image_size", kw.get("image_size", 64))),
        latent_dim=latent,
        file_bytes=int(cfg.get("file_bytes", 0)),
        recipe=cfg.get("recipe", ""),
        train_seconds=cfg.get("train_seconds"),
        device=cfg.get("device", ""),
        quality=dict(cfg.get("quality", {})),
        config=cfg,
    )


def list_models() -> list[ModelCard]:
    """Cards of every bundled model, sorted by name."""
    return [card(n) for n in names()]


def load(name: str, device: str | torch.device | None = None) -> Generator | Classifier:
    """Load a bundled model, checksum-verified, as a ready :class:`Generator` or :class:`Classifier`.

    Raises
    ------
    ModelFileError
        For an unknown name.
    ChecksumError
        If the shipped weights were modified.
    """
    obj = load_wrapped(path_of(name), device=device)
    obj.name = name
    return obj
