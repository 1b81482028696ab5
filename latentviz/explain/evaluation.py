"""Evaluation of explanation methods against ground-truth lesion masks.

:func:`evaluate_explanations` runs every method on positive images with known masks and
returns an :class:`EvaluationTable` of methods × metrics, each a mean with a 95 % confidence
interval (Student t over images):

* localisation: ``iou`` (mask-area percentile threshold), ``pointing``, ``auprc``;
* faithfulness: ``deletion`` and ``insertion`` AUC (blurred image as the removed-pixel value);
* robustness: ``iou_noise``/``iou_blur`` and ``rank_noise``/``rank_blur`` (Spearman of the map
  before and after Gaussian noise / blur of the input; medXGAN methods re-invert the perturbed
  image, as a user would);
* sanity: ``rank_randomized`` (Spearman of the map before and after re-initialising the
  classifier; a method that passes has a LOW value);
* ``completeness``: |delta| of IG and LIG (absolute, in probability units).

The medXGAN methods (``medxgan`` = the difference map, ``lig``, ``lig_paper``) rest on an
inversion; its fidelity is reported beside the table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from latentviz.errors import ArgumentError, ShapeError
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.baselines import GradCam, IntegratedGradients, SmoothGrad
from latentviz.explain.counterfactual import difference_map
from latentviz.explain.filters import add_gaussian_noise, gaussian_blur
from latentviz.explain.inversion import invert
from latentviz.explain.latent_shift import LatentShift
from latentviz.explain.lig import LatentIntegratedGradients
from latentviz.explain.metrics import (
    auprc,
    deletion_insertion,
    iou_at_mask_percentile,
    pointing_game,
    randomized_classifier,
    spearman,
)
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["GENERATOR_METHODS", "METHODS", "METRICS", "EvaluationTable", "evaluate_explanations", "mean_ci"]

METHODS = ("medxgan", "lig", "lig_paper", "gradcam", "ig", "smoothgrad", "latent_shift")
GENERATOR_METHODS = ("medxgan", "lig", "lig_paper")
METRICS = (
    "iou",
    "pointing",
    "auprc",
    "deletion",
    "insertion",
    "iou_noise",
    "iou_blur",
    "rank_noise",
    "rank_blur",
    "rank_randomized",
    "completeness",
)
#: Which direction is better, for the markdown table's header.
BETTER = {"deletion": "↓", "rank_randomized": "↓", "completeness": "↓"}


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the Student-t confidence interval ``(mean, low, high)``; NaNs are dropped."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if v.size == 1:
        return (m, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return (m, m - half, m + half)


@dataclass
class EvaluationTable:
    """Per-image metric values, and their means with 95 % CIs.

    Attributes
    ----------
    values
        ``values[method][metric]`` → ``(N,)`` numpy array per image.
    fidelity
        Inversion fidelity of the medXGAN methods (``psnr``, ``ssim``, ``low_fidelity`` …).
    info
        What was evaluated (data, models, n, options).
    seconds
        ``seconds[method]``: time spent computing that method's maps (all conditions).
    """

    values: dict[str, dict[str, np.ndarray]]
    fidelity: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, tuple[float, float, float]]]:
        return {m: {k: mean_ci(v) for k, v in row.items()} for m, row in self.values.items()}

    def to_dict(self) -> dict:
        return {
            "info": self.info,
            "summary": {
                m: {k: {"mean": a, "ci95": [lo, hi]} for k, (a, lo, hi) in row.items()}
                for m, row in self.summary().items()
            },
            "fidelity": {k: mean_ci(v)[0] for k, v in self.fidelity.items()},
            "seconds": self.seconds,
        }

    def to_markdown(self, metrics: Sequence[str] | None = None) -> str:
        """A markdown table: one row per method, ``mean [low, high]`` per metric."""
        summ = self.summary()
        cols = [m for m in (metrics or METRICS) if any(m in row for row in summ.values())]
        head = "| method | " + " | ".join(f"{c} {BETTER.get(c, '↑')}" for c in cols) + " |"
        lines = [head, "|" + "---|" * (len(cols) + 1)]
        for method, row in summ.items():
            cells = []
            for c in cols:
                if c not in row or not math.isfinite(row[c][0]):
                    cells.append("–")
                elif math.isfinite(row[c][1]):
                    cells.append(f"{row[c][0]:.3f} [{row[c][1]:.3f}, {row[c][2]:.3f}]")
                else:
                    cells.append(f"{row[c][0]:.3f}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _maps(
    method: str,
    x: torch.Tensor,
    generator: Generator | None,
    classifier: Classifier,
    autoencoder: Generator | None,
    opts: dict,
    cache: dict,
) -> Attribution:
    """One method's maps for images ``x``; the inversion is shared through ``cache``."""
    if method in GENERATOR_METHODS:
        key = ("inv", id(x), id(classifier))
        if key not in cache:
            cache[key] = invert(generator, classifier, x, progress=False, **opts.get("inversion", {}))
        inv = cache[key]
        if method == "medxgan":
            d = difference_map(generator, inv.z).cpu()
            return Attribution(d, "medxgan", extras={"low_fidelity": inv.low_fidelity})
        lkey = ("lig", id(x), id(classifier))
        if lkey not in cache:
            cache[lkey] = LatentIntegratedGradients(generator, classifier).attribute(
                inv, n_steps=opts.get("lig_steps", 32), variant="both"
            )
        a = cache[lkey]
        if method == "lig":
            return a
        return Attribution(a.extras["paper_map"], "lig_paper", delta=a.extras["paper_delta"])
    if method == "gradcam":
        return GradCam(classifier).attribute(x)
    if method == "ig":
        return IntegratedGradients(classifier).attribute(
            x, n_steps=opts.get("ig_steps", 50), internal_batch_size=256
        )
    if method == "smoothgrad":
        return SmoothGrad(classifier).attribute(x, nt_samples=opts.get("nt_samples", 16))
    if method == "latent_shift":
        return LatentShift(autoencoder, classifier).attribute(x)
    raise ArgumentError(f"unknown method {method!r}; choose from {METHODS}")


def evaluate_explanations(
    classifier: Classifier,
    images: torch.Tensor,
    masks: torch.Tensor | np.ndarray,
    generator: Generator | None = None,
    autoencoder: Generator | None = None,
    methods: Sequence[str] | None = None,
    *,
    noise_sigma: float = 0.1,
    blur_sigma: float = 1.0,
    robustness: bool = True,
    sanity: bool = True,
    deletion_steps: int = 16,
    options: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    info: dict | None = None,
) -> EvaluationTable:
    """Run explanation methods on positive images with known masks and score them.

    Parameters
    ----------
    classifier
        The classifier to explain.
    images
        ``(N, C, H, W)`` positive images in [-1, 1].
    masks
        ``(N, H, W)`` boolean lesion masks.
    generator
        Conditional generator for ``medxgan``, ``lig`` and ``lig_paper`` (skipped without one).
    autoencoder
        Generator with an encoder for ``latent_shift`` (skipped without one).
    methods
        Subset of :data:`METHODS` (default: all that the given models allow).
    noise_sigma, blur_sigma
        Perturbations of the robustness test (pixel units; images span 2).
    robustness, sanity
        Run the robustness and the model-randomisation tests.
    deletion_steps
        Steps of the deletion / insertion curves.
    options
        Method options: ``inversion`` (dict for :func:`invert`), ``lig_steps``, ``ig_steps``,
        ``nt_samples``.
    seed
        Seed of the noise and of the randomised classifier.
    progress
        Show a progress bar over methods × conditions.
    info
        Stored in the table (data kind, model names, …).
    """
    import time

    check_images(images)
    masks = torch.as_tensor(np.asarray(masks)).bool()
    if masks.shape != (images.shape[0], *images.shape[-2:]):
        raise ShapeError(f"masks {tuple(masks.shape)} must be (N, H, W) for images {tuple(images.shape)}")
    if methods is None:
        methods = [
            m
            for m in METHODS
            if (m not in GENERATOR_METHODS or generator is not None)
            and (m != "latent_shift" or autoencoder is not None)
        ]
    for m in methods:
        if m in GENERATOR_METHODS and generator is None:
            raise ArgumentError(f"method {m!r} needs a conditional generator")
        if m == "latent_shift" and autoencoder is None:
            raise ArgumentError("method 'latent_shift' needs an autoencoder/VAE generator (autoencoder=)")
    opts = dict(options or {})
    x = images.to(classifier.device).clone()
    conditions: dict[str, tuple[torch.Tensor, Classifier]] = {"clean": (x, classifier)}
    if robustness:
        conditions["noise"] = (add_gaussian_noise(x, noise_sigma, seed=seed), classifier)
        conditions["blur"] = (gaussian_blur(x, blur_sigma), classifier)
    if sanity:
        conditions["randomized"] = (x, randomized_classifier(classifier, seed=seed))
    deletion_base = gaussian_blur(x, 5.0)

    cache: dict = {}
    values: dict[str, dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    bar = tqdm(total=len(methods) * len(conditions), desc="evaluate explanations", disable=not progress)
    for method in methods:
        row: dict[str, np.ndarray] = {}
        maps: dict[str, torch.Tensor] = {}
        t0 = time.perf_counter()
        for cond, (xc, clf) in conditions.items():
            bar.set_postfix(method=method, condition=cond)
            a = _maps(method, xc, generator, clf, autoencoder, opts, cache)
            maps[cond] = a.map
            if cond == "clean":
                row["iou"] = iou_at_mask_percentile(a.map, masks).numpy()
                row["pointing"] = pointing_game(a.map, masks).numpy()
                row["auprc"] = auprc(a.map, masks).numpy()
                di = deletion_insertion(
                    classifier, x, a.map.to(x.device), deletion_base, n_steps=deletion_steps
                )
                row["deletion"] = di["deletion"].numpy()
                row["insertion"] = di["insertion"].numpy()
                if a.delta is not None:
                    row["completeness"] = a.delta.abs().numpy()
            elif cond in ("noise", "blur"):
                row[f"iou_{cond}"] = iou_at_mask_percentile(a.map, masks).numpy()
            bar.update(1)
        seconds[method] = time.perf_counter() - t0
        for cond in ("noise", "blur", "randomized"):
            if cond in maps:
                name = "rank_randomized" if cond == "randomized" else f"rank_{cond}"
                row[name] = spearman(maps["clean"].abs().sum(1), maps[cond].abs().sum(1)).numpy()
        values[method] = row
    bar.close()

    fidelity: dict[str, np.ndarray] = {}
    inv = cache.get(("inv", id(x), id(classifier)))
    if inv is not None:
        fidelity = {
            "psnr": inv.psnr.numpy(),
            "ssim": inv.ssim.numpy(),
            "agrees": inv.agrees.float().numpy(),
            "low_fidelity": inv.low_fidelity.float().numpy(),
            "seconds_per_image": np.full(len(x), inv.seconds / len(x)),
        }
    meta = {"n": len(x), "methods": list(methods), "noise_sigma": noise_sigma, "blur_sigma": blur_sigma}
    meta.update(info or {})
    return EvaluationTable(values=values, fidelity=fidelity, info=meta, seconds=seconds)
