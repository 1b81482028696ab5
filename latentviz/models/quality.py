"""Offline quality figures for the shipped models, measured on fresh phantoms.

* Classifier: ROC AUC and accuracy on a held-out phantom set.
* medXGAN (Dravid et al. 2022, their disentanglement check): for random z1, render
  z2 = 0 and three random z2; the fraction of z1 whose verdicts read
  [negative, positive, positive, positive]. Anatomy preservation: the mean absolute
  pixel change between G(z1, 0) and G(z1, z2) *outside the lesion support*, where the
  lesion support is every pixel that a lesion covers in at least 0.5 % of real positive
  phantoms (the ground-truth masks say where lesions can occur). For scale, the same
  figure for two different z1 (a change of anatomy) is reported beside it.
* Realism: Fréchet distance (Heusel et al. 2017's FID formula) in the penultimate-layer
  feature space of the project's own phantom classifier, not Inception (offline, and
  fitted to these images). Reported for two disjoint real sets (the floor), the model's
  samples, and a weak baseline (an early checkpoint).
* Realism, second figure: the distribution of the phantom's *anatomical factors* (read
  off the images by the factor regressor of :mod:`latentviz.directions`) in model samples
  against real phantoms: a Fréchet distance in standardised factor space and a 1-D
  Wasserstein distance per factor, in factor SDs. The classifier's features mostly see
  lesions; the factors see anatomy (rotation, size, position …), so the two can disagree.
* VAE: reconstruction MSE on held-out phantoms, beside the MSE of predicting the mean image.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from scipy import linalg

from latentviz.errors import ShapeError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = [
    "HELDOUT_SEED",
    "classifier_features",
    "classifier_quality",
    "factor_realism",
    "frechet_distance",
    "lesion_support",
    "medxgan_quality",
    "realism",
    "vae_reconstruction",
]

# Seeds of held-out phantom sets: far from the training seeds (0, 1, …).
HELDOUT_SEED = 90_001


@functools.lru_cache(maxsize=8)
def _phantoms(kind: str, n: int, size: int, seed: int, positive_fraction: float = 0.5):
    """Held-out phantoms (cached: several figures of one kind share the same real sets)."""
    from latentviz.data.phantoms import generate

    return generate(kind, n, size=size, seed=seed, positive_fraction=positive_fraction)


def _batched(fn, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([fn(x[i : i + batch_size]).float().cpu() for i in range(0, len(x), batch_size)])


def classifier_quality(
    classifier: Classifier, kind: str, n: int = 2000, seed: int = HELDOUT_SEED, size: int = 64
) -> dict:
    """ROC AUC and accuracy (threshold 0.5) of ``classifier`` on ``n`` fresh phantoms."""
    from sklearn.metrics import roc_auc_score

    batch = _phantoms(kind, n, size, seed)
    x = torch.as_tensor(batch.images)
    p = _batched(classifier.probability, x).numpy()
    y = np.asarray(batch.labels)
    return {
        "auc": float(roc_auc_score(y, p)),
        "accuracy": float(((p > 0.5) == y).mean()),
        "n": int(n),
        "seed": int(seed),
    }


def classifier_features(classifier: Classifier, images: torch.Tensor) -> np.ndarray:
    """Penultimate-layer features of the phantom classifier, ``(N, F)`` float64."""
    module = classifier.module
    if not hasattr(module, "features"):
        raise ShapeError(f"classifier {classifier.name} has no features() method for the Fréchet distance")
    with classifier.frozen():  # eval mode, parameters out of autograd (restored after)
        return _batched(lambda b: module.features(classifier.prepare(b)), images).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½) between two feature sets ``(N, F)``."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ShapeError(f"feature sets must be (N, F) with one F, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(sa @ sb)
    if not np.isfinite(covmean).all():  # near-singular product: regularise (as pytorch-fid does)
        eps = 1e-6 * np.eye(len(sa))
        covmean = linalg.sqrtm((sa + eps) @ (sb + eps))
    covmean = np.real(covmean)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * np.trace(covmean))


def realism(
    generator: Generator,
    classifier: Classifier,
    kind: str,
    n: int = 2000,
    seed: int = HELDOUT_SEED,
    baseline: Generator | None = None,
) -> dict:
    """Fréchet distances in the classifier's feature space: real vs real (floor), model,
    and ``baseline`` (e.g. an early checkpoint) when given. Lower is better."""
    size = generator.image_shape[-1]
    real_a = classifier_features(classifier, torch.as_tensor(_phantoms(kind, n, size, seed).images))
    real_b = classifier_features(classifier, torch.as_tensor(_phantoms(kind, n, size, seed + 1).images))
    fake = classifier_features(classifier, generator.generate(generator.sample_latents(n, seed=seed)))
    out = {
        "fd_real_vs_real": frechet_distance(real_a, real_b),
        "fd_model": frechet_distance(real_a, fake),
        "n": int(n),
    }
    if baseline is not None:
        base = classifier_features(classifier, baseline.generate(baseline.sample_latents(n, seed=seed)))
        out["fd_baseline"] = frechet_distance(real_a, base)
    return out


def factor_realism(
    generator: Generator,
    regressor,
    kind: str,
    n: int = 2000,
    seed: int = HELDOUT_SEED,
    baseline: Generator | None = None,
) -> dict:
    """How well model samples match real phantoms in their anatomical factors.

    Parameters
    ----------
    regressor
        A :class:`latentviz.directions.FactorRegressor` for ``kind`` (its held-out R² is
        reported alongside: a factor it reads poorly says little).
    baseline
        A weak model (e.g. an early checkpoint) measured the same way.

    Returns
    -------
    dict
        ``factor_fd_real_vs_real`` (the floor), ``factor_fd_model`` and
        ``factor_fd_baseline``: Fréchet distances between standardised factor readings;
        ``factor_w1_model`` / ``factor_w1_baseline``: per-factor Wasserstein-1 distances
        to the real readings, in factor SDs; ``regressor_r2``. Lower is better.
    """
    from scipy.stats import wasserstein_distance

    size = generator.image_shape[-1]

    def read(images: torch.Tensor) -> np.ndarray:
        out = regressor(images)
        return np.stack(
            [(out[k] - m) / sd for k, m, sd in zip(regressor.names, regressor.mean, regressor.std)], 1
        )

    real_a = read(torch.as_tensor(_phantoms(kind, n, size, seed).images))
    real_b = read(torch.as_tensor(_phantoms(kind, n, size, seed + 1).images))

    def sampled(g: Generator) -> np.ndarray:
        return read(_batched(g.generate, g.sample_latents(n, seed=seed).to(g.device)))

    def w1(fake: np.ndarray) -> dict[str, float]:
        return {
            k: float(wasserstein_distance(real_a[:, j], fake[:, j])) for j, k in enumerate(regressor.names)
        }

    fake = sampled(generator)
    out = {
        "factor_fd_real_vs_real": frechet_distance(real_a, real_b),
        "factor_fd_model": frechet_distance(real_a, fake),
        "factor_w1_real_vs_real": w1(real_b),
        "factor_w1_model": w1(fake),
        "regressor_r2": {k: round(float(v), 4) for k, v in regressor.r2.items()},
        "n": int(n),
    }
    if baseline is not None:
        base = sampled(baseline)
        out["factor_fd_baseline"] = frechet_distance(real_a, base)
        out["factor_w1_baseline"] = w1(base)
    return out


def lesion_support(
    kind: str, size: int, n: int = 2000, seed: int = HELDOUT_SEED, min_frequency: float = 0.005
) -> np.ndarray:
    """Pixels a lesion covers in at least ``min_frequency`` of real positive phantoms, ``(S, S)`` bool."""
    batch = _phantoms(kind, n, size, seed, positive_fraction=1.0)
    return np.asarray(batch.masks).mean(0) >= min_frequency


def medxgan_quality(
    generator: Generator,
    classifier: Classifier,
    kind: str,
    n_z1: int = 1000,
    seed: int = HELDOUT_SEED,
    n_support: int = 2000,
) -> dict:
    """The paper's disentanglement check and the anatomy-preservation figures.

    Returns
    -------
    dict
        ``disentanglement`` (fraction of z1 with verdicts [neg, pos, pos, pos]),
        ``negative_rate`` (G(z1, 0) judged negative), ``positive_rate`` (G(z1, z2) judged
        positive), ``anatomy_change_outside_lesions`` and ``anatomy_change_whole_image``
        (mean |Δpixel| between z2 = 0 and z2 ≠ 0, in [-1, 1] units),
        ``change_between_z1`` (the same between two random z1, for scale),
        ``lesion_support_fraction`` (share of the image inside the lesion support).
    """
    if not generator.is_conditional:
        raise ShapeError(f"{generator.name} is not a conditional (z1, z2) generator")
    d1, d2 = generator.split_sizes
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n_z1, d1, generator=g)
    z2 = torch.randn(n_z1, 3, d2, generator=g)
    zs = torch.cat([torch.zeros(n_z1, 1, d2), z2], dim=1)  # (n, 4, d2): column 0 negative
    z = torch.cat([z1[:, None].expand(-1, 4, -1), zs], dim=2).reshape(-1, d1 + d2)
    images = generator.generate(z.to(generator.device)).cpu()
    p = _batched(classifier.probability, images).reshape(n_z1, 4).numpy()
    verdicts = p > 0.5
    expected = np.array([False, True, True, True])
    x = images.reshape(n_z1, 4, *images.shape[1:])[:, :, 0].numpy()  # (n, 4, S, S)
    diff = np.abs(x[:, 1:] - x[:, :1])  # (n, 3, S, S)
    support = lesion_support(kind, x.shape[-1], n=n_support, seed=seed + 7)
    other = np.abs(x[1:, 0] - x[:-1, 0])  # negative renderings of neighbouring z1
    return {
        "disentanglement": float((verdicts == expected).all(1).mean()),
        "negative_rate": float((~verdicts[:, 0]).mean()),
        "positive_rate": float(verdicts[:, 1:].mean()),
        "anatomy_change_outside_lesions": float(diff[:, :, ~support].mean()),
        "anatomy_change_whole_image": float(diff.mean()),
        "change_between_z1": float(other.mean()),
        "lesion_support_fraction": float(support.mean()),
        "n_z1": int(n_z1),
    }


def vae_reconstruction(generator: Generator, kind: str, n: int = 1000, seed: int = HELDOUT_SEED) -> dict:
    """Reconstruction MSE (images in [-1, 1]) of ``decode(encode(x))`` on fresh phantoms,
    beside the MSE of the per-pixel mean image (a model that ignores its input)."""
    if not generator.has_encoder:
        raise ShapeError(f"{generator.name} has no encoder")
    size = generator.image_shape[-1]
    x = torch.as_tensor(_phantoms(kind, n, size, seed).images)
    recon = _batched(lambda b: generator(generator.encode(b)), x)
    mse = ((recon - x) ** 2).mean().item()
    mean_mse = ((x - x.mean(0, keepdim=True)) ** 2).mean().item()
    return {"mse": float(mse), "mse_mean_image": float(mean_mse), "n": int(n)}


def encoder_reconstruction(
    generator: Generator,
    kind: str,
    n: int = 200,
    seed: int = HELDOUT_SEED,
    classifier: Classifier | None = None,
    refine_steps: int = 0,
) -> dict:
    """PSNR / SSIM (images in [-1, 1]) of ``G(E(x))`` on ``n`` fresh phantoms, and, with a
    ``classifier`` and ``refine_steps > 0``, after :func:`latentviz.explain.invert` from the
    encoder's code (median and quartiles; seconds per image)."""
    import time

    from latentviz.explain.fidelity import psnr, ssim

    if not generator.has_encoder:
        raise ShapeError(f"{generator.name} has no encoder")
    size = generator.image_shape[-1]
    x = torch.as_tensor(_phantoms(kind, n, size, seed).images).to(generator.device)

    def stats(recon: torch.Tensor, seconds: float) -> dict:
        p = psnr(recon, x).cpu().numpy()
        s = ssim(recon, x).cpu().numpy()
        return {
            "psnr_median": float(np.median(p)),
            "psnr_quartiles": [float(np.quantile(p, 0.25)), float(np.quantile(p, 0.75))],
            "ssim_median": float(np.median(s)),
            "seconds_per_image": seconds / n,
        }

    t0 = time.perf_counter()
    recon = _batched(lambda b: generator(generator.encode(b)), x)
    out = {"encoder": stats(recon, time.perf_counter() - t0), "n": int(n), "space": generator.latent_space}
    if classifier is not None and refine_steps > 0:
        from latentviz.explain.inversion import invert

        t0 = time.perf_counter()
        res = invert(
            generator,
            classifier,
            x,
            restarts=1,
            steps=int(refine_steps),
            init="encoder",
            refine=None,
            progress=False,
        )
        out["refined"] = stats(res.reconstruction.to(x.device), time.perf_counter() - t0)
        out["refined"]["steps"] = int(refine_steps)
    return out
