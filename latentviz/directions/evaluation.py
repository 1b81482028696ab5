"""Run several discovery methods on one model and score them all against phantom factors."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.factor_regressor import FactorRegressor, anatomy_factors
from latentviz.directions.registry import DiscoveryInputs, get_method, method_names, phantom_kind
from latentviz.directions.scoring import DirectionScores, score_directions
from latentviz.directions.strips import strip_grid

__all__ = ["DirectionEvaluation", "evaluate_directions"]


@dataclass
class DirectionEvaluation:
    """Scores of every method on one model, with the factor regressor's own R²."""

    model: str
    kind: str
    regressor_r2: dict[str, float]
    sets: dict[str, DirectionSet] = field(default_factory=dict)
    scores: dict[str, DirectionScores] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict]:
        """Per method: factors recovered (and by which direction), and their count."""
        return {
            m: {"recovered": s.recovered, "n_recovered": len(s.recovered), "n_directions": len(s.matched)}
            for m, s in self.scores.items()
        }

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "phantom": self.kind,
            "factor_regressor_r2": self.regressor_r2,
            "methods": {
                m: s.to_dict() | {"params": _small(self.sets[m].params)} for m, s in self.scores.items()
            },
            "summary": self.summary(),
            "seconds": self.seconds,
        }

    def to_markdown(self, max_rows: int | None = 12) -> str:
        th = next(iter(self.scores.values())).thresholds if self.scores else {}
        out = [
            f"## {self.model} ({self.kind} phantom)",
            "",
            "Factor regressor held-out R²: "
            + ", ".join(f"{n} {v:.2f}" for n, v in self.regressor_r2.items()),
            "",
            f"Recovered = |Spearman| ≥ {th.get('spearman')}, leakage ≤ {th.get('leakage')}, "
            f"effect ≥ {th.get('effect')} factor-SD over the walk.",
            "",
            "| method | directions | recovered factors | time (s) |",
            "|---|---|---|---|",
        ]
        for m, s in self.summary().items():
            rec = ", ".join(f"{f} ({d})" for f, d in s["recovered"].items()) or "none"
            out.append(f"| {m} | {s['n_directions']} | {rec} | {self.seconds.get(m, 0):.1f} |")
        for m, sc in self.scores.items():
            out += ["", f"### {m}", "", sc.to_markdown(max_rows)]
        return "\n".join(out)


def _small(params: dict) -> dict:
    return {k: v for k, v in params.items() if not isinstance(v, list) or len(v) <= 40}


def evaluate_directions(
    generator,
    methods: Sequence[str] | None = None,
    k: int = 10,
    regressor: FactorRegressor | str | Path | None = None,
    voynov_steps: int | None = None,
    voynov_batch: int | None = None,
    voynov_baseline_steps: int | None = None,
    ganspace_samples: int | None = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    n_starts: int = 8,
    shifts: np.ndarray | None = None,
    strips_dir: str | Path | None = None,
    strip_rows: int = 6,
    seed: int = 0,
    progress: bool = True,
) -> DirectionEvaluation:
    """Discover with each method, score every set, optionally write a strip grid per method.

    Parameters
    ----------
    methods
        Registered method names (default: those declaring ``evaluated_by_default``).
    k
        Directions per method, for methods whose :meth:`~DirectionMethod.evaluation_options`
        take it (Voynov–Babenko keeps K = D).
    regressor
        A trained :class:`FactorRegressor`, a path (loaded if it exists, else trained on the
        phantom and saved there) or ``None`` (trained, not saved).
    method_options
        ``{method: {option: value}}`` on top of each method's evaluation options.
    voynov_steps, voynov_batch, voynov_baseline_steps, ganspace_samples
        Shorthands (older API) for ``method_options`` of ``voynov`` and ``ganspace``.

    The set of a ``reference`` method (the probes), when among ``methods``, runs first and
    serves as the reference for the probe cosines of the others.
    """
    names = list(method_names(evaluated_by_default=True) if methods is None else methods)
    chosen = [get_method(m) for m in names]  # unknown names fail before any training
    extra: dict[str, dict[str, Any]] = {m: dict(o) for m, o in (method_options or {}).items()}
    for method, opt, value in (
        ("voynov", "steps", voynov_steps),
        ("voynov", "batch_size", voynov_batch),
        ("voynov", "baseline_steps", voynov_baseline_steps),
        ("ganspace", "n_samples", ganspace_samples),
    ):
        if value is not None:
            extra.setdefault(method, {}).setdefault(opt, value)
    runs = {}
    for m in chosen:
        opts = {
            **m.evaluation_options(generator, k),
            **{o: v for o, v in extra.get(m.name, {}).items() if v is not None},
        }
        if "seed" in m.Options.specs():
            opts.setdefault("seed", seed)
        runs[m.name] = (m, m.options(**opts))  # every option checked before any training
    kind = phantom_kind(generator)
    size = int(generator.image_shape[-1])
    if not isinstance(regressor, FactorRegressor):
        path = Path(regressor) if regressor is not None else None
        if path is not None and path.with_suffix(".json").is_file():
            regressor = FactorRegressor.load(path)
        else:
            regressor = FactorRegressor.for_phantom(
                kind, size=size, names=anatomy_factors(kind), progress=progress
            )
            if path is not None:
                regressor.save(path)
    ev = DirectionEvaluation(str(getattr(generator, "name", "model")), kind, dict(regressor.r2))
    inputs = DiscoveryInputs(regressor=regressor, kind=kind, progress=progress)
    reference: DirectionSet | None = None
    order = sorted(runs, key=lambda name: not runs[name][0].reference)  # reference methods first
    for m in order:
        method, opts = runs[m]
        t0 = time.perf_counter()
        method.check_needs(generator, inputs)
        ev.sets[m] = method.run(generator, opts, inputs)
        ev.seconds[m] = time.perf_counter() - t0
        if method.reference and reference is None:
            reference = ev.sets[m]
        ev.scores[m] = score_directions(
            generator,
            ev.sets[m],
            regressor,
            n_starts=n_starts,
            shifts=shifts,
            probes=reference,
            seed=seed,
            progress=progress,
        )
        if strips_dir is not None:
            sc = ev.scores[m]
            top = np.argsort(-sc.effect.max(axis=1))[:strip_rows]
            strip_grid(
                generator,
                ev.sets[m],
                keys=[int(i) for i in top],
                seeds=(0, 1),
                factor_fn=regressor,
                factors=[sc.matched[i] for i in top],
                title=f"{ev.model}: {m} (rows: direction, seed; frame: shift and its matched factor)",
                path=Path(strips_dir) / f"directions_{ev.model}_{m}.png",
            )
    return ev
