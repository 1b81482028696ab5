"""Score directions against ground-truth factors with intervention curves.

For every direction ``d_k`` (with slider scale ``σ_k``) and starting latents ``z_s``, the
walk ``z_s + t σ_k d_k`` over shifts ``t`` is rendered and its factors read back
(``factor_fn``, e.g. a :class:`~latentviz.directions.factor_regressor.FactorRegressor`).
Factors are standardised by their spread over prior samples of the same generator, so
slopes are in "factor standard deviations per slider unit".

Per direction and factor:

* ``slope`` — pooled within-start least-squares slope of factor on ``t``;
* ``r2`` — R² of that within-start linear fit;
* ``spearman`` — Spearman rank correlation of factor and ``t``, averaged over starts
  (monotonicity);
* ``effect`` — ``|slope|·(t_max − t_min)``: total change along the walk.

Per direction: the best-matching factor (largest |slope|), ``leakage`` =
``‖slopes of the other factors‖₂ / |slope of the match|``, and the cosine to the
supervised probe of the matched factor (sign-aligned so that + means "same way").
DCI-style: importance ``I = |slope|·max(R², 0)``; disentanglement ``1 − H_F(I_k·)``,
completeness ``1 − H_K(I_·f)`` (Eastwood & Williams 2018, with intervention effects in
place of regressor importances).

A factor counts as **recovered** by a set when some direction matches it with
``|spearman| ≥ 0.9``, ``leakage ≤ 0.5`` and ``effect ≥ 0.5`` (defaults; all are parameters).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import rankdata
from tqdm.auto import tqdm

from latentviz.directions.direction_set import DirectionSet
from latentviz.errors import ArgumentError

__all__ = ["DirectionScores", "intervention_walks", "score_directions"]

FactorFn = Callable[[torch.Tensor], Mapping[str, np.ndarray]]


def intervention_walks(
    generator,
    directions: DirectionSet,
    starts: torch.Tensor,
    shifts: np.ndarray,
    keys: list[int] | None = None,
) -> torch.Tensor:
    """Latents of every walk, shape ``(K, S, T, D)``: ``z_s + t σ_k d_k`` (one tensor op)."""
    keys = list(range(len(directions))) if keys is None else keys
    d = torch.as_tensor(directions.directions[keys] * directions.sigmas[keys, None], dtype=torch.float32)
    t = torch.as_tensor(np.asarray(shifts), dtype=torch.float32)
    z = starts.detach().cpu().float().reshape(len(starts), -1)
    return z[None, :, None, :] + t[None, None, :, None] * d[:, None, None, :]


def _entropy_score(p: np.ndarray, axis: int) -> np.ndarray:
    """``1 − H(p)/log(n)`` along ``axis`` (1 = all mass on one entry)."""
    n = p.shape[axis]
    total = p.sum(axis=axis, keepdims=True)
    q = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    h = -(np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0.0)).sum(axis=axis)
    return 1 - h / np.log(n) if n > 1 else np.ones_like(h)


@dataclass
class DirectionScores:
    """The result of :func:`score_directions` (arrays are ``(K, F)`` unless noted)."""

    method: str
    direction_names: list[str]
    factor_names: list[str]
    shifts: np.ndarray
    slope: np.ndarray
    r2: np.ndarray
    spearman: np.ndarray
    effect: np.ndarray
    curves: np.ndarray  # (K, T, F) mean standardised factor along each walk
    matched: list[str]
    leakage: np.ndarray  # (K,)
    probe_cosine: np.ndarray | None  # (K,)
    importance: np.ndarray
    disentanglement: np.ndarray  # (K,)
    completeness: np.ndarray  # (F,)
    thresholds: dict = field(default_factory=dict)
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)

    def _col(self, k: int, values: np.ndarray) -> float:
        return float(values[k, self.factor_names.index(self.matched[k])])

    def recovers(self, k: int) -> bool:
        """Whether direction ``k`` recovers its matched factor under the thresholds."""
        th = self.thresholds
        return (
            abs(self._col(k, self.spearman)) >= th["spearman"]
            and self.leakage[k] <= th["leakage"]
            and self._col(k, self.effect) >= th["effect"]
        )

    @property
    def recovered(self) -> dict[str, str]:
        """``{factor: best recovering direction}`` (largest effect among recovering ones)."""
        best: dict[str, tuple[float, str]] = {}
        for k, name in enumerate(self.direction_names):
            if self.recovers(k):
                f, e = self.matched[k], self._col(k, self.effect)
                if f not in best or e > best[f][0]:
                    best[f] = (e, name)
        return {f: v[1] for f, v in sorted(best.items())}

    @property
    def overall_disentanglement(self) -> float:
        w = self.importance.sum(1)
        return float((self.disentanglement * w).sum() / w.sum()) if w.sum() > 0 else 0.0

    def rows(self) -> list[dict]:
        """One dict per direction: matched factor, slope, R², Spearman, effect, leakage, …"""
        out = []
        for k, name in enumerate(self.direction_names):
            out.append(
                {
                    "direction": name,
                    "matched_factor": self.matched[k],
                    "slope": self._col(k, self.slope),
                    "r2": self._col(k, self.r2),
                    "spearman": self._col(k, self.spearman),
                    "effect": self._col(k, self.effect),
                    "leakage": float(self.leakage[k]),
                    "disentanglement": float(self.disentanglement[k]),
                    "probe_cosine": None if self.probe_cosine is None else float(self.probe_cosine[k]),
                    "recovers": self.recovers(k),
                }
            )
        return out

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "factors": self.factor_names,
            "thresholds": self.thresholds,
            "directions": self.rows(),
            "recovered": self.recovered,
            "n_recovered": len(self.recovered),
            "completeness": dict(zip(self.factor_names, self.completeness.tolist())),
            "disentanglement": self.overall_disentanglement,
            "seconds": self.seconds,
            **self.extras,
        }

    def to_markdown(self, max_rows: int | None = None) -> str:
        """A markdown table of the directions (✓ marks a recovered factor)."""
        head = "| direction | matched factor | slope | R² | Spearman | effect | leakage | D | probe cos | ✓ |"
        lines = [head, "|" + "---|" * 10]
        for r in self.rows()[:max_rows]:
            cos = "" if r["probe_cosine"] is None else f"{r['probe_cosine']:+.2f}"
            lines.append(
                f"| {r['direction']} | {r['matched_factor']} | {r['slope']:+.3f} | {r['r2']:.2f} | "
                f"{r['spearman']:+.2f} | {r['effect']:.2f} | {r['leakage']:.2f} | "
                f"{r['disentanglement']:.2f} | {cos} | {'✓' if r['recovers'] else ''} |"
            )
        return "\n".join(lines)


def score_directions(
    generator,
    directions: DirectionSet,
    factor_fn: FactorFn,
    n_starts: int = 8,
    shifts: np.ndarray | None = None,
    probes: DirectionSet | None = None,
    factors: list[str] | None = None,
    n_reference: int = 512,
    seed: int = 0,
    spearman_threshold: float = 0.9,
    leakage_bound: float = 0.5,
    min_effect: float = 0.5,
    batch_size: int = 256,
    progress: bool = True,
) -> DirectionScores:
    """Intervention-curve scores of every direction against every factor.

    Parameters
    ----------
    generator
        The generator the set was built for (checked).
    directions
        The set to score.
    factor_fn
        ``images -> {factor: (N,) values}`` (a :class:`FactorRegressor`, or an exact
        read-out for toy models).
    n_starts
        Starting latents per direction (prior samples, seed ``seed``).
    shifts
        Slider positions in σ units (default ``linspace(-3, 3, 9)``).
    probes
        Supervised directions named after factors, for the probe cosine.
    factors
        Factors to score (default: all that ``factor_fn`` returns).
    n_reference
        Prior samples used to standardise the factors.
    spearman_threshold, leakage_bound, min_effect
        The "recovered" criteria.
    """
    t0 = time.perf_counter()
    directions.check_compatible(generator)
    shifts = np.linspace(-3.0, 3.0, 9) if shifts is None else np.asarray(shifts, np.float64)
    if shifts.ndim != 1 or len(shifts) < 3 or np.ptp(shifts) <= 0:
        raise ArgumentError("shifts must be at least three distinct values")

    def read(z: torch.Tensor, desc: str) -> dict[str, np.ndarray]:
        parts: list[Mapping[str, np.ndarray]] = []
        for i in tqdm(range(0, len(z), batch_size), desc=desc, disable=not progress, leave=False):
            parts.append(factor_fn(generator.generate(z[i : i + batch_size])))
        return {n: np.concatenate([np.asarray(p[n], np.float64) for p in parts]) for n in parts[0]}

    ref = read(generator.sample_latents(n_reference, seed=seed + 1), "reference factors")
    names = list(factors or ref)
    mean = np.array([ref[n].mean() for n in names])
    std = np.array([ref[n].std() for n in names])
    std = np.where(std > 1e-12, std, 1.0)

    k, s, t = len(directions), n_starts, len(shifts)
    walks = intervention_walks(generator, directions, generator.sample_latents(s, seed=seed), shifts)
    vals = read(walks.reshape(k * s * t, -1), f"scoring {directions.method}")
    f = (np.stack([vals[n] for n in names], axis=-1) - mean) / std  # (K*S*T, F)
    f = f.reshape(k, s, t, len(names))

    tc = shifts - shifts.mean()
    fc = f - f.mean(axis=2, keepdims=True)  # within-start centring
    slope = np.einsum("t,kstf->kf", tc, fc) / (s * (tc**2).sum())
    ss_tot = (fc**2).sum(axis=(1, 2))
    ss_res = ((fc - slope[:, None, None, :] * tc[None, None, :, None]) ** 2).sum(axis=(1, 2))
    r2 = np.where(ss_tot > 1e-12, 1 - ss_res / np.where(ss_tot > 1e-12, ss_tot, 1), 0.0)
    ranks = rankdata(f, axis=2)
    rc = ranks - ranks.mean(axis=2, keepdims=True)
    tr = rankdata(shifts) - (t + 1) / 2
    denom = np.sqrt((rc**2).sum(axis=2) * (tr**2).sum())
    rho = np.divide(np.einsum("t,kstf->ksf", tr, rc), denom, out=np.zeros_like(denom), where=denom > 0)
    spearman = rho.mean(axis=1)
    effect = np.abs(slope) * np.ptp(shifts)

    best = np.abs(slope).argmax(axis=1)
    on = np.abs(slope[np.arange(k), best])
    off = np.sqrt(np.maximum((slope**2).sum(1) - on**2, 0))
    leakage = np.divide(off, on, out=np.full(k, np.inf), where=on > 0)
    importance = np.abs(slope) * np.clip(r2, 0, None)
    cos = None
    if probes is not None:
        cos = np.full(k, np.nan)
        for i in range(k):
            name = names[best[i]]
            if name in probes.names:
                sign = np.sign(slope[i, best[i]]) or 1.0
                cos[i] = float(sign * directions.directions[i] @ probes.vector(name))
    return DirectionScores(
        method=directions.method,
        direction_names=list(directions.names),
        factor_names=names,
        shifts=shifts,
        slope=slope,
        r2=r2,
        spearman=spearman,
        effect=effect,
        curves=f.mean(axis=1),
        matched=[names[b] for b in best],
        leakage=leakage,
        probe_cosine=cos,
        importance=importance,
        disentanglement=_entropy_score(importance, axis=1),
        completeness=_entropy_score(importance, axis=0),
        thresholds={"spearman": spearman_threshold, "leakage": leakage_bound, "effect": min_effect},
        seconds=time.perf_counter() - t0,
        extras={"n_starts": n_starts, "n_reference": n_reference, "latent_space": directions.latent_space},
    )
