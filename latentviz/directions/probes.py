"""Supervised directions: linear probes on latents (InterFaceGAN, Shen et al. CVPR 2020).

Latents are labelled by a classifier score or a known factor; continuous values are
split at the median (optionally keeping only the extreme ``keep`` fraction, as
InterFaceGAN keeps the top and bottom samples). A linear SVM or logistic regression
separates the two classes; the unit normal of the boundary, oriented towards larger
values, is the direction. Conditional editing (InterFaceGAN §3.2) removes the components
along other attributes' directions: ``n − (n·c)c`` for one, Gram–Schmidt for several.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.registry import (
    LABELS,
    SEED,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    phantom_kind,
    register_method,
)
from latentviz.errors import ArgumentError, LatentError, ShapeError

__all__ = ["Probe", "ProbeFit", "conditional_direction", "fit_probe", "probe_directions"]

MODELS = ("svm", "logistic")


class ProbeFit:
    """One probe: ``direction`` (unit, (D,)), ``train_accuracy``, ``val_accuracy``, ``threshold``."""

    def __init__(self, direction: np.ndarray, train_accuracy: float, val_accuracy: float, threshold: float):
        self.direction, self.threshold = direction, threshold
        self.train_accuracy, self.val_accuracy = train_accuracy, val_accuracy

    def __repr__(self) -> str:
        return f"ProbeFit(val_accuracy={self.val_accuracy:.3f}, train_accuracy={self.train_accuracy:.3f})"


def _numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def fit_probe(
    latents: np.ndarray | torch.Tensor,
    values: np.ndarray | torch.Tensor,
    model: str = "svm",
    keep: float = 1.0,
    val_fraction: float = 0.2,
    C: float = 1.0,
    seed: int = 0,
) -> ProbeFit:
    """Fit one linear probe.

    Parameters
    ----------
    latents
        ``(N, D)`` latents.
    values
        ``(N,)`` binary labels or continuous values (split at the median).
    model
        ``"svm"`` (``LinearSVC``) or ``"logistic"``.
    keep
        Keep only the ``keep`` fraction of samples farthest from the median (1 = all).
    val_fraction
        Held-out share for the validation accuracy.
    """
    if model not in MODELS:
        raise ArgumentError(f"model must be one of {MODELS}, got {model!r}")
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    z = _numpy(latents).reshape(len(latents), -1).astype(np.float64)
    v = _numpy(values).astype(np.float64).reshape(-1)
    if len(z) != len(v):
        raise ShapeError(f"{len(z)} latents but {len(v)} values")
    if not (np.isfinite(z).all() and np.isfinite(v).all()):
        raise LatentError("latents or values contain NaN or infinite values")
    binary = set(np.unique(v)) <= {0.0, 1.0}
    threshold = 0.5 if binary else float(np.median(v))
    if not 0 < keep <= 1:
        raise ArgumentError("keep must be in (0, 1]")
    if keep < 1 and not binary:
        far = np.abs(v - threshold)
        sel = far >= np.quantile(far, 1 - keep)
        z, v = z[sel], v[sel]
    y = (v > threshold).astype(int)
    if y.min() == y.max():
        raise ArgumentError("the labels have a single class; a probe needs both")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(z))
    n_val = max(1, round(val_fraction * len(z)))
    val, train = order[:n_val], order[n_val:]
    clf = (
        LinearSVC(C=C, max_iter=20_000, random_state=seed)
        if model == "svm"
        else LogisticRegression(C=C, max_iter=5_000)
    ).fit(z[train], y[train])
    normal = clf.coef_.reshape(-1)
    norm = np.linalg.norm(normal)
    if norm < 1e-12:
        raise ArgumentError("the probe found no direction (zero normal)")
    return ProbeFit(
        normal / norm, float(clf.score(z[train], y[train])), float(clf.score(z[val], y[val])), threshold
    )


def conditional_direction(direction: np.ndarray, conditions: np.ndarray) -> np.ndarray:
    """Project ``conditions`` out of ``direction``: ``n − Σ (n·c_i) c_i`` over an orthonormal basis.

    Parameters
    ----------
    direction
        ``(D,)`` the direction to edit along.
    conditions
        ``(M, D)`` directions of attributes to keep fixed (Gram–Schmidt orthonormalised here).

    Raises
    ------
    ArgumentError
        If ``direction`` lies in the span of the conditions.
    """
    n = np.asarray(direction, np.float64).reshape(-1)
    c = np.atleast_2d(np.asarray(conditions, np.float64))
    if c.shape[1] != n.size:
        raise ShapeError(f"conditions have size {c.shape[1]}, direction {n.size}")
    basis, _ = np.linalg.qr(c.T)  # Gram–Schmidt: orthonormal columns spanning the conditions
    out = n - basis @ (basis.T @ n)
    if np.linalg.norm(out) < 1e-8 * max(np.linalg.norm(n), 1e-12):
        raise ArgumentError("the direction lies in the span of the conditions; nothing is left to edit")
    return out / np.linalg.norm(out)


def probe_directions(
    generator: object,
    latents: np.ndarray | torch.Tensor,
    targets: Mapping[str, np.ndarray | torch.Tensor],
    model: str = "svm",
    conditional: bool = False,
    latent_source: str = "prior",
    label_source: str = "values",
    **options,
) -> DirectionSet:
    """One probe per target, as a :class:`DirectionSet` named after the targets.

    Parameters
    ----------
    generator
        The generator the latents belong to (for the checksum and latent-space tag).
    latents
        ``(N, D)`` latents (prior samples, or a VAE's encodings: say which in ``latent_source``).
    targets
        ``{name: (N,) values}``: a classifier score, a regressed or known factor.
    conditional
        Make each direction orthogonal to all the others' (conditional editing).
    label_source
        Recorded in ``params`` (e.g. ``"factor regressor"``, ``"classifier ct-cnn"``).
    **options
        Passed to :func:`fit_probe`.

    Returns
    -------
    DirectionSet
        ``scores`` are validation accuracies; ``params`` hold train accuracies.
    """
    if not targets:
        raise ArgumentError("give at least one target")
    names = list(targets)
    fits = [fit_probe(latents, targets[name], model, **options) for name in names]
    dirs = np.stack([f.direction for f in fits])
    if conditional and len(fits) > 1:
        dirs = np.stack([conditional_direction(d, np.delete(dirs, i, axis=0)) for i, d in enumerate(dirs)])
    return DirectionSet(
        dirs,
        names,
        [f.val_accuracy for f in fits],
        "probe",
        {
            "model": model,
            "conditional": conditional,
            "latent_source": latent_source,
            "label_source": label_source,
            "n_samples": len(latents),
            "train_accuracy": [f.train_accuracy for f in fits],
            "thresholds": [f.threshold for f in fits],
            **{k: v for k, v in options.items() if isinstance(v, (int, float, str))},
        },
        str(getattr(generator, "sha256", "")),
        str(getattr(generator, "latent_space", "z")),
    )


@register_method
class Probe(DirectionMethod):
    """Linear probes: one direction per labelled factor (the normal of a fitted linear model)."""

    name = "probe"
    label = "linear probes (factor regressor labels)"
    order = 40
    summary = "supervised: prior samples labelled by a factor regressor, one linear probe per factor"
    needs = frozenset({LABELS})
    reference = True  # the evaluation compares every other set with the probe directions

    @dataclass
    class Options(MethodOptions):
        factors: tuple[str, ...] | None = option(
            None, "factors", "factors to probe (None: the phantom's anatomical factors)", many=True
        )
        n_samples: int = option(
            3000, "samples", "labelled prior samples", bound=Bound(2, 1_000_000), flag="--samples"
        )
        seed: int = option(0, "seed", "seed of the samples (and of the regressor's training)", bound=SEED)

    def run(self, generator: Any, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        from latentviz.directions.factor_regressor import FactorRegressor, anatomy_factors

        kind = inputs.kind or phantom_kind(generator)
        names = list(options.factors or anatomy_factors(kind))
        regressor = inputs.regressor
        if regressor is None:
            size = int(generator.image_shape[-1])
            regressor = FactorRegressor.for_phantom(
                kind, size=size, names=names, seed=options.seed, progress=inputs.progress
            )
        z = generator.sample_latents(options.n_samples, seed=options.seed)
        values: dict[str, list[torch.Tensor]] = {}
        for i in range(0, len(z), 512):
            part = regressor(generator.generate(z[i : i + 512]))
            for n in names:
                values.setdefault(n, []).append(torch.as_tensor(part[n]))
        targets = {n: torch.cat(v).numpy() for n, v in values.items()}
        r2 = {n: round(regressor.r2.get(n, float("nan")), 3) for n in names}
        return probe_directions(generator, z, targets, label_source=f"factor regressor on {kind} (R² {r2})")
