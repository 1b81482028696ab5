"""Tiny model files (a 32 px medXGAN, a VAE and a CNN, random weights) and helpers for the
batch tests."""

from __future__ import annotations

from pathlib import Path

import torch

from latentviz.batch.jobs import JobOptions
from latentviz.models.architectures import ConvVAE, MedXGANGenerator, PhantomCNN
from latentviz.models.io import save_model

SIZE = 32
#: Small enough to run a part in well under a second on one core.
FAST = {"steps": 6, "restarts": 1, "refine": None}


def make_model_files(root: Path) -> dict[str, str]:
    """Write the three models under ``root``; returns ``{"gen"|"vae"|"clf": path}``."""
    torch.manual_seed(1)
    kw = {"anatomy_dim": 8, "pathology_dim": 2, "image_size": SIZE, "width": 8}
    gen = {"architecture": "medxgan", "kwargs": kw, "role": "generator", "split_sizes": [8, 2]}
    save_model(MedXGANGenerator(**kw), gen, root / "gen")
    vkw = {"latent_dim": 6, "image_size": SIZE, "width": 8}
    save_model(ConvVAE(**vkw), {"architecture": "vae", "kwargs": vkw, "role": "generator"}, root / "vae")
    ckw = {"num_classes": 2, "width": 4}
    clf = {"architecture": "cnn-classifier", "kwargs": ckw, "role": "classifier", "image_size": SIZE}
    save_model(PhantomCNN(**ckw), clf, root / "clf")
    return {name: str(root / name) for name in ("gen", "vae", "clf")}


def fast_options(command: str = "encode", **kw) -> JobOptions:
    return JobOptions(
        command=command, inversion=dict(FAST), ig_steps=8, lig_steps=4, n_frames=4, deletion_steps=4, **kw
    )


def part_mtimes(store: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (store / "parts").glob("part-*.npz")}
