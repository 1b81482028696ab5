"""Timing primitives and the table the benchmark prints."""

from __future__ import annotations

import importlib
import importlib.util
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from latentviz.errors import ArgumentError

__all__ = ["AREAS", "Row", "format_table", "measure", "run_areas"]

# Areas in the order the table shows them; a module ``latentviz.bench.<area>`` each.
AREAS = ("phantoms", "data", "models", "style", "explain", "directions", "core", "dashboard", "batch", "cli")


@dataclass
class Row:
    """One benchmark figure.

    Attributes
    ----------
    area, name
        Where it belongs and what was measured.
    value
        The median (or the figure itself for throughputs).
    unit
        ``"ms"``, ``"img/s"``, ``"s"``, …
    p95
        95th percentile where repeated timings exist.
    target
        The issue's target, in words (``"<= 5 ms"``), if any.
    ratio
        ``value`` against ``baseline`` (a speed-up > 1 means latentviz is faster).
    baseline
        What the ratio is against.
    extra
        Any other figures (repeats, sizes, …).
    note
        A short remark the text table shows in its last column (lost events, a missed
        target's reason); empty for most rows.
    """

    area: str
    name: str
    value: float
    unit: str
    p95: float | None = None
    target: str = ""
    ratio: float | None = None
    baseline: str = ""
    extra: dict = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def measure(fn: Callable[[], object], repeats: int = 20, warmup: int = 2) -> tuple[float, float]:
    """Median and p95 of ``fn``'s wall time, in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def available_areas() -> list[str]:
    return [a for a in AREAS if importlib.util.find_spec(f"latentviz.bench.{a}") is not None]


def run_areas(areas: list[str] | None = None, quick: bool = False) -> list[Row]:
    """Run the benchmark rows of ``areas`` (all available when ``None``)."""
    names = available_areas() if not areas else areas
    rows: list[Row] = []
    for area in names:
        if importlib.util.find_spec(f"latentviz.bench.{area}") is None:
            raise ArgumentError(f"no benchmark area {area!r}; available: {available_areas()}")
        mod = importlib.import_module(f"latentviz.bench.{area}")
        rows.extend(mod.rows(quick=quick))
    return rows


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def format_table(rows: list[Row]) -> str:
    """A plain-text (markdown) table of the rows (a ``note`` column where any row has one)."""
    notes = any(r.note for r in rows)
    head = ["area", "benchmark", "median", "p95", "unit", "ratio", "vs", "target"] + (
        ["note"] if notes else []
    )
    body = [
        [
            r.area,
            r.name,
            _fmt(r.value),
            _fmt(r.p95),
            r.unit,
            (_fmt(r.ratio) + "×") if r.ratio is not None else "",
            r.baseline,
            r.target,
        ]
        + ([r.note] if notes else [])
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)
