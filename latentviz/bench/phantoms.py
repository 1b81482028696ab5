"""Benchmark rows: phantom rendering throughput (images per second)."""

from __future__ import annotations

import numpy as np

from latentviz.bench.harness import Row, measure

__all__ = ["AREA", "rows"]

AREA = "phantoms"
TARGET_64 = 500.0  # img/s at 64 px for cxr and ct (issue 2)


def _throughput(kind: str, n: int, size: int, repeats: int) -> tuple[float, float]:
    """Images per second at the median time and at the p95 time, for ``generate(kind, n, size)``."""
    from latentviz.data.phantoms import generate

    seeds = iter(range(10**6))
    run = lambda: generate(kind, n, size=size, seed=next(seeds))  # noqa: E731
    median_ms, p95_ms = measure(run, repeats=repeats, warmup=1)
    return n / median_ms * 1e3, n / p95_ms * 1e3


def _naive_throughput(kind: str, n: int, size: int, repeats: int) -> float:
    """Images per second when the same renderer is called one image at a time in a Python loop."""
    from latentviz.data.phantoms import generate

    median_ms, _ = measure(
        lambda: [generate(kind, 1, size=size, seed=i) for i in range(n)], repeats=repeats, warmup=1
    )
    return n / median_ms * 1e3


def rows(quick: bool = False) -> list[Row]:
    """Throughput of each phantom at 64 and 128 px, with a one-at-a-time baseline at 64 px."""
    from latentviz.data.phantoms import KINDS

    n, repeats = (128, 3) if quick else (256, 7)
    out: list[Row] = []
    for kind in KINDS:
        for size in (64, 128):
            batch_n = n if size == 64 else n // 4
            value, p95 = _throughput(kind, batch_n, size, repeats)
            row = Row(
                area=AREA,
                name=f"generate {kind} {size}px (batch {batch_n})",
                value=value,
                unit="img/s",
                p95=p95,
                target=f">= {TARGET_64:.0f} img/s" if size == 64 and kind in ("cxr", "ct") else "",
                extra={"kind": kind, "size": size, "batch": batch_n, "repeats": repeats},
            )
            if size == 64:
                naive_n = 16 if quick else 32
                naive = _naive_throughput(kind, naive_n, size, max(2, repeats // 2))
                row.ratio = float(np.round(value / naive, 2))
                row.baseline = f"one image per call ({naive:.0f} img/s)"
                row.extra["naive_img_per_s"] = naive
            out.append(row)
    return out
