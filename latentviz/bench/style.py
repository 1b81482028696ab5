"""Benchmark rows of the style-based family: slider frame against its floor, fine-layer
edits against full forwards, encoder inversion against optimisation, training steps/s.

Pairs are timed interleaved (A, B, A, B, …) so that a change of the machine's load hits
both sides; ratios are of medians.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from latentviz.bench.harness import Row

__all__ = ["AREA", "rows"]

AREA = "style"
# The zoo recipe (recipes/train_style_zoo.py): batch 16, width 32, w_dim 64, 64 px.
RECIPE = {
    "image_size": 64,
    "z_dim": 64,
    "w_dim": 64,
    "n_mlp": 4,
    "channel_base": 512,
    "channel_max": 32,
    "encoder": "w+",
}


def _generator():
    """The zoo's ct-gaan when bundled, else a fresh model of the recipe's architecture."""
    from latentviz import zoo
    from latentviz.models.architectures.stylegan import StyleGAN2Generator
    from latentviz.models.style import StyleGenerator

    if "ct-gaan" in zoo.names():
        return zoo.load("ct-gaan", device="cpu"), "ct-gaan"
    torch.manual_seed(0)
    return StyleGenerator(StyleGAN2Generator(**RECIPE), "w+", device="cpu"), "untrained recipe architecture"


def _pair(a, b, repeats: int) -> tuple[list[float], list[float]]:
    ta, tb = [], []
    for f in (a, b):
        f()
    for _ in range(repeats):
        for f, t in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            f()
            t.append((time.perf_counter() - t0) * 1e3)
    return ta, tb


def _p95(t: list[float]) -> float:
    s = sorted(t)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def _edit_rows(quick: bool) -> list[Row]:
    from latentviz.core.explorer import ExplorerSession
    from latentviz.core.render import png_bytes
    from latentviz.directions.style import ganspace_w

    g, what = _generator()
    gp = g.in_space("w+")
    ws = gp.sample_latents(1, seed=0)
    d = torch.randn(g.w_dim)
    reps = 8 if quick else 30
    counter = iter(range(10**9))

    def full() -> None:  # a fresh latent on every call: no stage can be reused
        with torch.inference_mode():
            gp.cache.clear()
            gp(gp.edit(ws, d, 0.01 * next(counter), layers="all"))

    def fine() -> None:  # the same edit on the last style only: the cache serves the rest
        with torch.inference_mode():
            gp(gp.edit(ws, d, 0.01 * next(counter), layers=[g.num_ws - 1]))

    tf, tfine = _pair(full, fine, reps)
    out = [
        Row(
            AREA,
            "style forward 64px batch 1 (all styles changed)",
            statistics.median(tf),
            "ms",
            _p95(tf),
            extra={"model": what},
        ),
        Row(
            AREA,
            "style fine-layer edit (last style only, cached stages)",
            statistics.median(tfine),
            "ms",
            _p95(tfine),
            "cheaper than a full forward",
            statistics.median(tf) / statistics.median(tfine),
            "full forward, same run",
            {"model": what},
        ),
    ]
    # Slider frame as both front ends run it, against generator + PNG encode.
    session = ExplorerSession(g.in_space("w"), ganspace_w(g, k=4, n_samples=2000), seed=0)
    vals = iter(np.linspace(-3, 3, 10**6))

    def frame() -> None:
        session.set_value(0, float(next(vals)))
        session.render()

    def floor() -> None:
        with torch.inference_mode():
            x = session.generator(session.latents() + 1e-4 * next(counter))
        u8 = ((x[0, 0].clamp(-1, 1) + 1) * 127.5).to(torch.uint8).numpy()
        png_bytes(u8)

    tfr, tfl = _pair(frame, floor, reps)
    out.append(
        Row(
            AREA,
            "style slider frame 64px (no classifier)",
            statistics.median(tfr),
            "ms",
            _p95(tfr),
            "<= 1.5x floor",
            statistics.median(tfl) / statistics.median(tfr),
            "generator forward + PNG encode",
            {"model": what},
        )
    )
    return out


def _inversion_rows(quick: bool) -> list[Row]:
    from latentviz import zoo
    from latentviz.data.phantoms import generate
    from latentviz.explain.fidelity import mse
    from latentviz.explain.inversion import invert

    g, what = _generator()
    if not g.has_encoder or "ct-classifier" not in zoo.names():
        return []
    clf = zoo.load("ct-classifier", device="cpu")
    x = torch.as_tensor(generate("ct", 1, size=64, seed=90_001).images)
    gp = g.in_space("w+")
    t0 = time.perf_counter()
    with torch.inference_mode():
        rec = gp(gp.encode(x))
    t_enc = time.perf_counter() - t0
    target = float(mse(rec, x)[0])
    t0 = time.perf_counter()
    res = invert(
        gp,
        clf,
        x,
        restarts=1,
        steps=100 if quick else 1000,
        init="random",
        refine=None,
        target_mse=target,
        patience=None,
        progress=False,
    )
    t_opt = time.perf_counter() - t0
    reached = float(mse(res.reconstruction, x)[0]) <= target * 1.0001
    return [
        Row(
            AREA,
            "style inversion: encoder vs optimisation to the same MSE",
            t_enc * 1e3,
            "ms",
            ratio=t_opt / t_enc,
            baseline="optimisation-only inversion (random init)",
            extra={
                "model": what,
                "target_mse": target,
                "optimisation_ms": t_opt * 1e3,
                "optimisation_reached_target": reached,
                "steps": len(res.history),
            },
        )
    ]


def _training_rows(quick: bool) -> list[Row]:
    from latentviz.models.training import TrainConfig, fit

    steps = 2 if quick else 6
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.npz"
        np.savez(data, images=rng.uniform(-1, 1, (64, 64, 64)).astype(np.float32), labels=np.arange(64) % 2)
        cfg = TrainConfig(
            kind="gaan",
            data=str(data),
            out=Path(tmp) / "g",
            size=64,
            steps=steps,
            batch_size=16,
            width=32,
            latent_dim=64,
            progress=False,
            early_step=0,
            extra={"encoder_space": "w+"},
        )
        t0 = time.perf_counter()
        fit(cfg)
        sec = time.perf_counter() - t0
    return [
        Row(
            AREA,
            "gaan training (recipe: batch 16, width 32)",
            steps / sec,
            "steps/s",
            extra={"steps": steps, "threads": torch.get_num_threads()},
        )
    ]


def rows(quick: bool = False) -> list[Row]:
    """Style-based rows (the bundled ct-gaan when present)."""
    return _edit_rows(quick) + _inversion_rows(quick) + _training_rows(quick)
