"""Benchmark rows of ``latentviz.directions`` (issue 5 targets).

The generator is the zoo's ``ct-dcgan`` when bundled, else a DCGAN of the same
architecture with random weights (timings depend on the architecture, not the weights;
the row's ``extra`` says which was used).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from latentviz.bench.harness import Row, measure

__all__ = ["AREA", "rows"]

AREA = "directions"


def _generator(size: int = 64):
    from latentviz import zoo
    from latentviz.models import Generator

    name = "ct-dcgan"
    if name in zoo.names():
        return zoo.load(name, device="cpu"), name
    from latentviz.models.architectures.dcgan import DCGANGenerator

    module = DCGANGenerator(latent_dim=32, image_size=size)
    return Generator(
        module, (32,), name=f"dcgan-{size} (random weights)", device="cpu"
    ), module.__class__.__name__


def rows(quick: bool = False) -> list[Row]:
    """The rows, measured with one torch thread (restored afterwards).

    On this shared 2-core machine, two torch threads spin-wait on each other and make
    batch-1 calls 3-10x slower; one thread is also what a notebook slider gets.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _rows(quick)
    finally:
        torch.set_num_threads(before)


def _rows(quick: bool) -> list[Row]:
    from latentviz.directions import DirectionSet, ganspace, sefa, train_voynov
    from latentviz.directions.scoring import score_directions
    from latentviz.directions.voynov import resolve_precision

    g, label = _generator(64)
    _ = g.sha256  # computed once, outside the timings
    out: list[Row] = []

    med, p95 = measure(lambda: sefa(g), repeats=5 if quick else 20)
    out.append(
        Row(AREA, "SeFa (eigh of the latent layer)", med, "ms", p95, "<= 50 ms", extra={"model": label})
    )

    n = 20_000 if quick else 100_000
    t0 = time.perf_counter()
    ds = ganspace(g, k=10, n_samples=n, progress=False)
    latent_s = time.perf_counter() - t0
    out.append(
        Row(
            AREA,
            f"GANSpace latent PCA, {n:,} samples",
            latent_s,
            "s",
            target="<= 10 s",
            extra={"model": label},
        )
    )
    na = 5_000 if quick else 20_000
    t0 = time.perf_counter()
    ganspace(g, k=10, n_samples=na, layer="latent_layer", n_regress=na, progress=False)
    out.append(
        Row(
            AREA,
            f"GANSpace first-layer PCA (randomized) + regression, {na:,} samples",
            time.perf_counter() - t0,
            "s",
            target="<= 10 s",
            extra={"model": label, "feature_dim": g.module.latent_layer.out_features},
        )
    )

    # Schön's budget (3000 steps x 128), extrapolated from timed steps. The configurations
    # take turns (two rounds, the median of each), so load drifts hit them alike.
    steps = 10 if quick else 30
    configs = [("fp32", 1, 1), ("fp32", 2, 1), ("fp32", 1, 4), ("fp32", 2, 4)]
    if resolve_precision("auto", "cpu") == "bf16":
        configs += [("bf16", 1, 1), ("bf16", 2, 1)]
    times: dict[tuple[str, int, int], list[float]] = {c: [] for c in configs}
    for _ in range(2):
        for precision, threads, m in configs:
            torch.set_num_threads(threads)
            try:
                t0 = time.perf_counter()
                train_voynov(
                    g,
                    k=100,
                    steps=steps,
                    batch_size=128,
                    progress=False,
                    n_eval=128,
                    precision=precision,
                    shifts_per_base=m,
                )
                times[precision, threads, m].append((time.perf_counter() - t0) / steps)
            finally:
                torch.set_num_threads(1)
    base = float(np.median(times["fp32", 1, 1]))
    for (precision, threads, m), secs in times.items():
        sec = float(np.median(secs))
        sampling = "paper's sampling" if m == 1 else f"{m} shifts per base"
        out.append(
            Row(
                AREA,
                f"Voynov 3000 steps, batch 128, 64 px, {precision}, {threads} thread(s), {sampling}"
                f" (extrapolated from {steps})",
                sec * 3000 / 60,
                "min",
                target="<= 10 min",
                ratio=None if (precision, threads, m) == ("fp32", 1, 1) else base / sec,
                baseline=""
                if (precision, threads, m) == ("fp32", 1, 1)
                else "fp32, 1 thread, paper's sampling",
                extra={"model": label, "steps_per_s": 1 / sec, "measured_steps": steps, "shifts_per_base": m},
            )
        )

    z = g.sample_latents(1, seed=0)
    d = ds.directions[0] * ds.sigmas[0]
    shift = torch.as_tensor(d, dtype=torch.float32)

    def frame() -> None:
        with torch.inference_mode():
            img = g.module(z + 1.5 * shift)
            ((img[0, 0] + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()

    med, p95 = measure(frame, repeats=20 if quick else 100)
    out.append(
        Row(AREA, "slider shift + render one 64 px frame", med, "ms", p95, "<= 10 ms", extra={"model": label})
    )

    sub = DirectionSet(ds.directions, method="bench", model_sha256=g.sha256, latent_space=g.latent_space)
    reader = lambda x: {"mean": x.mean((1, 2, 3)).numpy(), "std": x.std((1, 2, 3)).numpy()}  # noqa: E731
    t0 = time.perf_counter()
    score_directions(g, sub, reader, n_starts=8, shifts=np.linspace(-3, 3, 9), progress=False)
    out.append(
        Row(
            AREA,
            "scoring 10 directions × 8 starts × 9 shifts (generator + read-out)",
            time.perf_counter() - t0,
            "s",
            extra={"model": label, "read_out": "pixel statistics"},
        )
    )
    return out
