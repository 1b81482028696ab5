"""Benchmark rows of the models area: generator forward latency, training throughput,
zoo load time."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from latentviz.bench.harness import Row, measure
from latentviz.models.architectures import ConvVAE, DCGANGenerator

__all__ = ["AREA", "rows"]

AREA = "models"
# The zoo recipes (recipes/train_zoo.py): kind -> (steps, batch size).
ZOO_RECIPES = {"classifier": (1500, 128), "gan": (5000, 128), "vae": (5000, 64), "medxgan": (5000, 128)}
RECIPE_OPTIONS = {"gan": {"latent_dim": 32}, "medxgan": {"classifier": "cxr-classifier", "latent_dim": 100}}


def _forward_rows(quick: bool) -> list[Row]:
    out = []
    for size in (64, 128):
        for cls, name in ((DCGANGenerator, "dcgan"), (ConvVAE, "vae decode")):
            g = cls(latent_dim=32, image_size=size).eval()
            for batch in (1, 64):
                z = torch.randn(batch, 32)

                def fn(g=g, z=z) -> None:
                    with torch.inference_mode():
                        g(z)

                med, p95 = measure(fn, repeats=5 if quick else 20)
                target = "<= 5 ms" if (batch == 1 and size == 64) else ""
                out.append(Row(AREA, f"{name} forward {size}px batch {batch}", med, "ms", p95, target))
    return out


def _training_rows(quick: bool) -> list[Row]:
    from latentviz.models.training import TrainConfig, fit

    steps = 3 if quick else 10
    rng = np.random.default_rng(0)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.npz"
        np.savez(data, images=rng.uniform(-1, 1, (256, 64, 64)).astype(np.float32), labels=np.arange(256) % 2)
        for kind, (recipe_steps, batch) in ZOO_RECIPES.items():
            cfg = TrainConfig(
                kind=kind,
                data=str(data),
                out=Path(tmp) / kind,
                size=64,
                steps=steps,
                batch_size=batch,
                progress=False,
                early_step=0,
                **RECIPE_OPTIONS.get(kind, {}),
            )
            t0 = time.perf_counter()
            res = fit(cfg)
            rate = steps / res["train_seconds"]
            out.append(
                Row(
                    AREA,
                    f"train {kind} 64px batch {batch} (zoo recipe: {recipe_steps} steps"
                    f" → {recipe_steps / rate / 60:.0f} min on this CPU)",
                    rate,
                    "steps/s",
                    extra={
                        "wall_s_incl_setup": time.perf_counter() - t0,
                        "zoo_recipe_cpu_minutes": recipe_steps / rate / 60,
                    },
                )
            )
    return out


def _zoo_rows() -> list[Row]:
    from latentviz import zoo

    out = []
    for name in zoo.names():
        t0 = time.perf_counter()
        zoo.load(name, device="cpu")
        out.append(Row(AREA, f"zoo load {name}", (time.perf_counter() - t0) * 1e3, "ms", target="< 1000 ms"))
    return out


def rows(quick: bool = False) -> list[Row]:
    """Forward latency (64/128 px, batch 1/64), training steps/s, zoo load times."""
    return _forward_rows(quick) + _training_rows(quick) + _zoo_rows()
