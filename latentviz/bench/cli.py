"""Benchmark rows for the console command's start-up: what a newcomer waits for first.

Each row runs the real ``latentviz`` entry point in a fresh interpreter (the way a shell
runs it) and is compared with the interpreter's own start-up, ``python -c pass``, measured
in the same run and interleaved with it, so machine load affects both alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from latentviz.bench.harness import Row

__all__ = ["AREA", "rows"]

AREA = "cli"

_FLOOR = [sys.executable, "-c", "pass"]


def _wall(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    return (time.perf_counter() - t0) * 1e3


def _row(name: str, args: list[str], target: str, repeats: int, cold_cache: bool = False) -> Row:
    """``cold_cache``: every run gets an empty help cache (the first ``--help`` after an
    install or a code change); otherwise the help cache of this benchmark run is warm."""
    import os
    import tempfile

    cmd = [sys.executable, "-m", "latentviz", *args]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LATENTVIZ_CACHE_DIR": cache}
        _wall(cmd, env)  # warm the file cache (and the help cache)
        ours, floor = [], []
        for i in range(repeats):  # interleaved pairs
            if cold_cache:
                env["LATENTVIZ_CACHE_DIR"] = os.path.join(cache, str(i))
            ours.append(_wall(cmd, env))
            floor.append(_wall(_FLOOR))
    ours.sort()
    med, base = statistics.median(ours), statistics.median(floor)
    p95 = ours[min(len(ours) - 1, round(0.95 * (len(ours) - 1)))]
    return Row(
        AREA,
        name,
        med,
        "ms",
        p95=p95,
        target=target,
        ratio=base / med,
        baseline=f"python -c pass {base:.3g} ms",
        extra={"repeats": repeats, "floor_ms": base},
    )


def rows(quick: bool = False) -> list[Row]:
    """``latentviz --version``, ``--help``, ``info --help``, ``explain --help`` (cached and
    first time) and ``info CT_small.dcm``."""
    from pydicom.data import get_testdata_file

    repeats = 3 if quick else 9
    ct_small = get_testdata_file("CT_small.dcm", download=False)
    return [
        _row("latentviz --version", ["--version"], "<= 300 ms", repeats),
        _row("latentviz --help", ["--help"], "<= 300 ms", repeats),
        _row("latentviz info --help", ["info", "--help"], "<= 300 ms", repeats),
        _row("latentviz explain --help (help cache warm)", ["explain", "--help"], "<= 300 ms", repeats),
        _row(
            "latentviz explain --help (first time: builds the parser)",
            ["explain", "--help"],
            "",
            max(2, repeats // 3),
            cold_cache=True,
        ),
        _row("latentviz info CT_small.dcm", ["info", str(ct_small)], "<= 1500 ms", repeats),
    ]
