"""GANSpace: PCA in latent space or on an intermediate layer (Härkönen et al., NeurIPS 2020).

* ``layer=None``: PCA of the latents themselves (meaningful for a non-isotropic space,
  e.g. StyleGAN's w, or encoded VAE latents).
* ``layer="name"``: PCA of that layer's activations (captured with a forward hook; the
  forward pass stops there). The principal-component coordinates ``x`` (standardised) are
  regressed back to the latent, ``z ≈ V x`` (paper §2, "transfer to latent space"), and the
  columns of ``V`` are the latent directions; ``‖V_j‖`` is the latent displacement per σ of
  component j, kept as the direction's slider σ.

Solvers for large sample counts (all batched, never a Python loop over samples):
``"covariance"`` (streaming ``XᵀX`` in float64 + ``eigh``; exact; the default for F ≤ 1024),
``"incremental"`` (sklearn ``IncrementalPCA.partial_fit`` per batch) and ``"randomized"``
(sklearn ``PCA(svd_solver="randomized")`` on the stacked features; the default above 1024).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.registry import (
    SEED,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    register_method,
)
from latentviz.errors import ArgumentError, LatentError, ShapeError

__all__ = ["GANSpace", "PCAFit", "activation_batches", "fit_pca", "ganspace"]

SOLVERS = ("auto", "covariance", "incremental", "randomized")


@dataclass
class PCAFit:
    """Result of :func:`fit_pca`.

    Attributes
    ----------
    components
        ``(k, F)`` unit principal axes, by decreasing variance.
    explained_variance
        ``(k,)`` variance along each axis.
    explained_variance_ratio
        ``(k,)`` share of the total variance.
    random_variance_ratio
        ``(R,)`` share of the total variance along ``R`` random unit axes: the baseline
        a principal axis must beat (its expectation is ``1/F``).
    mean
        ``(F,)`` sample mean.
    n_samples
        Number of samples seen.
    """

    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    random_variance_ratio: np.ndarray
    mean: np.ndarray
    n_samples: int


class _Stop(Exception):
    """Raised by the hook to end the forward pass at the captured layer."""


def _batches(data: np.ndarray | torch.Tensor | Iterable, batch_size: int) -> Iterable[np.ndarray]:
    if isinstance(data, (np.ndarray, torch.Tensor)):
        for i in range(0, len(data), batch_size):
            b = data[i : i + batch_size]
            yield (b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else b).reshape(len(b), -1)
    else:
        for b in data:
            b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
            yield b.reshape(len(b), -1)


def _orient(components: np.ndarray) -> np.ndarray:
    """Fix each axis' sign: largest-magnitude entry positive."""
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return components * signs[:, None]


def fit_pca(
    data: np.ndarray | torch.Tensor | Iterable,
    k: int,
    solver: str = "auto",
    batch_size: int = 4096,
    n_random: int = 32,
    seed: int = 0,
) -> PCAFit:
    """PCA of ``data`` (an ``(N, F)`` array or an iterable of ``(n, …)`` batches).

    Parameters
    ----------
    data
        The samples, or batches of them (flattened per sample).
    k
        Number of components.
    solver
        ``"auto"`` (covariance when F ≤ 1024, else randomized), ``"covariance"``,
        ``"incremental"`` or ``"randomized"`` (holds all samples in memory: N·F floats).
    batch_size
        Batch size when ``data`` is one array.
    n_random
        Random unit axes for the explained-variance baseline.
    seed
        Seed of the random axes and of the randomised solver.
    """
    if solver not in SOLVERS:
        raise ArgumentError(f"solver must be one of {SOLVERS}, got {solver!r}")
    from sklearn.decomposition import PCA, IncrementalPCA

    rng = np.random.default_rng(seed)
    batches = iter(_batches(data, batch_size))
    first = next(batches, None)
    if first is None or len(first) == 0:
        raise ShapeError("PCA needs at least one sample")
    n_feat = first.shape[1]
    if not 1 <= k <= n_feat:
        raise ArgumentError(f"k must be between 1 and the feature size {n_feat}, got {k}")
    if solver == "auto":
        # exact covariance is O(N·F²): fine for latents; wide activations go randomised (O(N·F·k))
        solver = "covariance" if n_feat <= 1024 else "randomized"
    rand = rng.standard_normal((n_feat, n_random))
    rand /= np.linalg.norm(rand, axis=0, keepdims=True)
    n, total = 0, np.zeros(n_feat)
    s2 = np.zeros((n_feat, n_feat)) if solver == "covariance" else None
    r1, r2 = np.zeros(n_random), np.zeros(n_random)
    ipca = IncrementalPCA(n_components=k) if solver == "incremental" else None
    stacked: list[np.ndarray] = []
    pending: list[np.ndarray] = []  # IncrementalPCA needs ≥ k rows per partial_fit
    sq = np.zeros(n_feat)

    def consume(b: np.ndarray) -> None:
        nonlocal n
        if not np.isfinite(b).all():
            raise LatentError("PCA input contains NaN or infinite values")
        b64 = b.astype(np.float64)
        n += len(b)
        total[:] += b64.sum(0)
        sq[:] += (b64**2).sum(0)
        proj = b64 @ rand
        r1[:] += proj.sum(0)
        r2[:] += (proj**2).sum(0)
        if s2 is not None:
            s2[:] += b64.T @ b64
        elif ipca is not None:
            pending.append(b)
            if sum(len(p) for p in pending) >= max(k, 2):
                ipca.partial_fit(np.concatenate(pending))
                pending.clear()
        else:
            stacked.append(b)

    consume(first)
    for b in batches:
        if b.shape[1] != n_feat:
            raise ShapeError(f"batch has {b.shape[1]} features, expected {n_feat}")
        consume(b)
    if n < 2:
        raise ShapeError("PCA needs at least two samples")
    mean = total / n
    total_var = float((sq / n - mean**2).sum()) * n / (n - 1)
    rand_var = (r2 / n - (r1 / n) ** 2) * n / (n - 1)
    if s2 is not None:
        cov = (s2 - n * np.outer(mean, mean)) / (n - 1)
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1][:k]
        comps, var = vectors[:, order].T, np.clip(values[order], 0, None)
    elif ipca is not None:
        if pending:
            rows = np.concatenate(pending)
            if len(rows) >= k:
                ipca.partial_fit(rows)
        comps, var = ipca.components_, ipca.explained_variance_
    else:
        pca = PCA(n_components=k, svd_solver="randomized", random_state=seed).fit(np.concatenate(stacked))
        comps, var = pca.components_, pca.explained_variance_
    return PCAFit(
        _orient(np.asarray(comps, np.float64)),
        np.asarray(var, np.float64),
        np.asarray(var, np.float64) / total_var,
        rand_var / total_var,
        mean,
        n,
    )


def _named_layer(module: nn.Module, layer: str | nn.Module) -> nn.Module:
    if isinstance(layer, nn.Module):
        return layer
    names = dict(module.named_modules())
    if layer not in names:
        raise KeyError(f"no layer {layer!r}; layers: {[n for n in names if n][:40]}")
    return names[layer]


def activation_batches(
    generator: object,
    layer: str | nn.Module,
    latents: torch.Tensor,
    batch_size: int = 512,
    progress: bool = True,
) -> Iterable[np.ndarray]:
    """Yield the flattened activations of ``layer`` for ``latents``, batch by batch.

    The forward pass is cut at the layer (a hook raises), so deep layers cost only the
    layers before them.
    """
    target = _named_layer(generator.module, layer)
    captured: list[torch.Tensor] = []

    def hook(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
        captured.append(out.detach())
        raise _Stop

    handle = target.register_forward_hook(hook)
    try:
        starts = range(0, len(latents), batch_size)
        for i in tqdm(starts, desc=f"activations of {layer}", disable=not progress, leave=False):
            captured.clear()
            with torch.inference_mode():
                try:
                    generator(latents[i : i + batch_size])
                except _Stop:
                    pass
            if not captured:
                raise ShapeError(f"layer {layer!r} was not called by the generator's forward pass")
            yield captured[0].flatten(1).float().cpu().numpy()
    finally:
        handle.remove()


def ganspace(
    generator: object,
    k: int = 10,
    n_samples: int = 100_000,
    layer: str | nn.Module | None = None,
    latents: torch.Tensor | None = None,
    solver: str = "auto",
    batch_size: int = 4096,
    n_regress: int = 20_000,
    seed: int = 0,
    progress: bool = True,
) -> DirectionSet:
    """GANSpace directions of ``generator``.

    Parameters
    ----------
    generator
        A :class:`latentviz.models.Generator`.
    k
        Number of principal directions.
    n_samples
        Latents drawn from the prior (``sample_latents(n_samples, seed)``) when
        ``latents`` is not given.
    layer
        ``None`` for PCA in latent space, or the name (in ``generator.module``) / module of
        the layer whose activations are decomposed.
    latents
        Use these instead of prior samples, e.g. a VAE's encodings of real images;
        ``params["latent_source"]`` records ``"prior"`` or ``"given"``.
    solver, batch_size
        See :func:`fit_pca`.
    n_regress
        Samples used to regress activation PCs back to the latent.
    seed
        Seed of the prior samples.

    Returns
    -------
    DirectionSet
        ``scores`` are explained-variance ratios; ``sigmas`` give one σ of each component
        in latent units; ``params`` hold the random-direction baseline.
    """
    source = "prior" if latents is None else "given"
    if latents is None:
        latents = generator.sample_latents(int(n_samples), seed=seed)
    latents = generator.check_latents(latents).reshape(len(latents), -1)
    dim = latents.shape[1]
    if layer is None:
        fit = fit_pca(latents, k, solver, batch_size, seed=seed)
        directions, sigmas = fit.components, np.sqrt(np.clip(fit.explained_variance, 1e-12, None))
    else:
        batch = min(batch_size, 1024)
        fit = fit_pca(activation_batches(generator, layer, latents, batch, progress), k, solver, seed=seed)
        # Regress z on standardised PC coordinates: z ≈ x V  (V: (k, D)), least squares.
        sub = latents[: int(n_regress)]
        coords = np.concatenate(
            [
                (a - fit.mean) @ fit.components.T
                for a in activation_batches(generator, layer, sub, batch, False)
            ]
        ) / np.sqrt(np.clip(fit.explained_variance, 1e-12, None))
        zc = sub.cpu().double().numpy()
        design = np.concatenate([coords, np.ones((len(coords), 1))], axis=1)
        v = np.linalg.lstsq(design, zc, rcond=None)[0][:k]
        sigmas = np.linalg.norm(v, axis=1)
        if (sigmas < 1e-12).any():
            raise ShapeError("an activation component does not depend on the latent; lower k")
        directions = v
    params = {
        "layer": None if layer is None else (layer if isinstance(layer, str) else type(layer).__name__),
        "solver": solver,
        "n_samples": fit.n_samples,
        "latent_source": source,
        "seed": seed,
        "explained_variance_ratio": fit.explained_variance_ratio.tolist(),
        "random_variance_ratio_mean": float(fit.random_variance_ratio.mean()),
        "random_variance_ratio_max": float(fit.random_variance_ratio.max()),
        "feature_dim": int(fit.components.shape[1]),
        "latent_dim": dim,
    }
    return DirectionSet(
        directions,
        [f"pc {i}" for i in range(k)],
        fit.explained_variance_ratio,
        "ganspace",
        params,
        str(getattr(generator, "sha256", "")),
        str(getattr(generator, "latent_space", "z")),
        sigmas,
    )


@register_method
class GANSpace(DirectionMethod):
    """GANSpace (Härkönen et al. 2020): principal components of prior samples or activations."""

    name = "ganspace"
    label = "GANSpace (Härkönen et al. 2020)"
    order = 20
    summary = "PCA of latents (or of one layer's activations) of prior samples"
    interactive = True
    quick = MappingProxyType({"n_samples": 20_000})

    @dataclass
    class Options(MethodOptions):
        k: int = option(10, "directions", "principal directions kept", bound=Bound(1, 4096))
        n_samples: int = option(
            100_000, "samples", "prior samples for the PCA", bound=Bound(2, 10_000_000), flag="--samples"
        )
        layer: str | None = option(None, "layer", "layer name for activation PCA (None: the latent)")
        seed: int = option(0, "seed", "seed of the prior samples", bound=SEED)

    def run(self, generator: object, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        return ganspace(
            generator,
            options.k,
            options.n_samples,
            layer=options.layer,
            seed=options.seed,
            progress=inputs.progress,
        )
