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
* ``completeness``: |delta| of the methods that report one (IG, LIG in probability units;
  DeepLift, LRP in logits).

The medXGAN methods (``medxgan`` = the difference map, ``lig``, ``lig_paper``) rest on an
inversion; its fidelity is reported beside the table. The rows are the registered methods
(:mod:`latentviz.explain.registry`) that the given models allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from latentviz.errors import ShapeError
from latentviz.explain import registry
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.filters import add_gaussian_noise, gaussian_blur
from latentviz.explain.inversion import invert
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

__all__ = [
    "METRICS",
    "EvaluationTable",
    "evaluate_explanations",
    "gradcam_block_variants",
    "mean_ci",
    "paired_bootstrap",
    "quartiles",
]


def __getattr__(name: str) -> object:
    # The old method lists, now read from the registry.
    if name == "METHODS":
        return registry.keys()
    if name == "GENERATOR_METHODS":
        return tuple(k for k, c in registry.explainers().items() if "generator" in c.needs)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Old ``options`` keys of :func:`evaluate_explanations` → ``(method, option)``.
_LEGACY = {
    "lig_steps": ("lig", "n_steps"),
    "ig_steps": ("ig", "n_steps"),
    "nt_samples": ("smoothgrad", "nt_samples"),
}

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
    "flipped",
    "low_fidelity",
)
#: Which direction is better, for the markdown table's header.
BETTER = {"deletion": "↓", "rank_randomized": "↓", "completeness": "↓", "low_fidelity": "↓"}


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


#: Fewest paired images for a verdict (the percentile bootstrap undercovers below this).
MIN_PAIRED_N = 10


def paired_bootstrap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    n_boot: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Mean paired difference ``a − b`` over images where both are finite, with its
    percentile bootstrap interval (the images resampled together, so both methods see the
    same draw): ``(mean, low, high, n)``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ShapeError(f"paired values need the same images: {a.shape} vs {b.shape}")
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    if d.size < 2:
        return (float(d.mean()) if d.size else math.nan, math.nan, math.nan, int(d.size))
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (float(d.mean()), float(lo), float(hi), int(d.size))


def quartiles(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median and quartiles (and the range) of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {k: math.nan for k in ("min", "q1", "median", "q3", "max")} | {"n": 0}
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return {"min": float(v.min()), "q1": float(q1), "median": float(med), "q3": float(q3),
            "max": float(v.max()), "n": int(v.size)}  # fmt: skip


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

    def paired(self, metric: str, seed: int = 0) -> list[dict]:
        """Every pair of methods on ``metric``: the paired bootstrap difference (first −
        second) over the same images, and a verdict only where the 95 % interval
        excludes zero and at least :data:`MIN_PAIRED_N` images are paired (``"undecided"``
        otherwise)."""
        better_low = BETTER.get(metric) == "↓"
        rows = [m for m, row in self.values.items() if metric in row]
        out = []
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                d, lo, hi, n = paired_bootstrap(self.values[a][metric], self.values[b][metric], seed=seed)
                if n < MIN_PAIRED_N:  # a percentile bootstrap is too narrow on a handful
                    verdict = f"undecided (n < {MIN_PAIRED_N})"
                elif not (math.isfinite(lo) and (lo > 0 or hi < 0)):
                    verdict = "undecided"
                else:
                    verdict = f"{a} better" if (lo > 0) != better_low else f"{b} better"
                out.append({"metric": metric, "a": a, "b": b, "difference": d, "ci95": [lo, hi],
                            "n": n, "verdict": verdict})  # fmt: skip
        return out

    def distributions(self, metric: str = "completeness") -> dict[str, dict[str, float]]:
        """Median and quartiles of ``metric`` per method (the completeness errors' spread)."""
        return {m: quartiles(row[metric]) for m, row in self.values.items() if metric in row}

    def to_dict(self) -> dict:
        summ = self.summary()
        metrics = [c for c in METRICS if any(c in row for row in summ.values())]
        return {
            "info": self.info,
            "summary": {
                m: {k: {"mean": a, "ci95": [lo, hi]} for k, (a, lo, hi) in row.items()}
                for m, row in summ.items()
            },
            "paired": {c: self.paired(c) for c in metrics},
            "distributions": {c: self.distributions(c) for c in metrics},
            "fidelity": {k: mean_ci(v)[0] for k, v in self.fidelity.items()},
            "seconds": self.seconds,
        }

    def paired_markdown(self, metric: str) -> str:
        """The pairs of :meth:`paired` on ``metric`` as a markdown table."""
        lines = [
            f"| {metric}: A − B | difference [95 % paired bootstrap CI] | n | verdict |",
            "|---|---|---|---|",
        ]
        for r in self.paired(metric):
            lo, hi = r["ci95"]
            ci = f"{r['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]" if math.isfinite(lo) else "–"
            lines.append(f"| {r['a']} − {r['b']} | {ci} | {r['n']} | {r['verdict']} |")
        return "\n".join(lines)

    def distribution_markdown(self, metric: str = "completeness") -> str:
        """Median, quartiles and range of ``metric`` per method, as a markdown table."""
        lines = [f"| {metric} | median | q1 | q3 | min | max | n |", "|---|---|---|---|---|---|---|"]
        for m, q in self.distributions(metric).items():
            cells = " | ".join(f"{q[k]:.3f}" for k in ("median", "q1", "q3", "min", "max"))
            lines.append(f"| {m} | {cells} | {q['n']} |")
        return "\n".join(lines)

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


def gradcam_block_variants(classifier: Classifier, blocks: Sequence[int] | None = None) -> dict:
    """Evaluation rows of Grad-CAM read at other conv blocks: ``{"Grad-CAM @ block k/B
    (h×w)": ("gradcam", {"block_from_end": j})}`` (``blocks``: counted from the last, 1 =
    the default block; ``None``: every block but the default)."""
    from latentviz.explain.baselines import conv_blocks

    found = conv_blocks(classifier.module)
    total = len(found)
    picks = range(2, total + 1) if blocks is None else blocks
    return {
        f"gradcam@block{total - j + 1}of{total}": ("gradcam", {"block_from_end": int(j)}) for j in picks
    }


def _autoencoder_for(
    method: str, generator: Generator | None, candidates: tuple[Generator | None, ...]
) -> Generator | None:
    """The first of ``candidates`` that ``method`` accepts (the first given one if none)."""
    cls = registry.get(method)
    given = [c for c in candidates if c is not None]
    return next((c for c in given if cls.missing(generator, c) is None), given[0] if given else None)


def _missing(
    method: str, generator: Generator | None, candidates: tuple[Generator | None, ...]
) -> str | None:
    """Why ``method`` runs with none of the ``candidates`` (None: it runs with one)."""
    whys = [registry.get(method).missing(generator, c) for c in candidates]
    return None if None in whys else whys[0]


def _maps(
    method: str,
    x: torch.Tensor,
    generator: Generator | None,
    classifier: Classifier,
    autoencoders: tuple[Generator | None, ...],
    opts: dict,
    cache: dict,
    method_opts: dict | None = None,
) -> Attribution:
    """One method's maps for images ``x``; the inversion is shared through ``cache``; the
    method gets the first of ``autoencoders`` it accepts."""
    autoencoder = _autoencoder_for(method, generator, autoencoders)
    inv = None
    if "generator" in registry.get(method).needs and generator is not None:
        key = ("inv", id(x), id(classifier))
        if key not in cache:
            cache[key] = invert(generator, classifier, x, progress=False, **opts.get("inversion", {}))
        inv = cache[key]
    return registry.attribute_all(
        classifier,
        x,
        [method],
        generator=generator,
        autoencoder=autoencoder,
        inversion=inv,
        options={method: opts.get("methods", {}).get(method, {}) if method_opts is None else method_opts},
    )[method]


def evaluate_explanations(
    classifier: Classifier,
    images: torch.Tensor,
    masks: torch.Tensor | np.ndarray,
    generator: Generator | None = None,
    autoencoder: Generator | None = None,
    methods: Sequence[str] | None = None,
    *,
    style_autoencoder: Generator | None = None,
    noise_sigma: float = 0.1,
    blur_sigma: float = 1.0,
    robustness: bool = True,
    sanity: bool = True,
    deletion_steps: int = 16,
    options: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    info: dict | None = None,
    variants: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
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
    style_autoencoder
        Style-based generator with an encoder for ``style_cf`` and ``style_lig`` (skipped
        without one); a method that accepts ``autoencoder`` keeps it.
    methods
        Registry keys (default: every registered method the given models allow).
    noise_sigma, blur_sigma
        Perturbations of the robustness test (pixel units; images span 2).
    robustness, sanity
        Run the robustness and the model-randomisation tests.
    deletion_steps
        Steps of the deletion / insertion curves.
    options
        ``inversion`` (dict for :func:`invert`) and ``methods`` (``{key: {option: value}}``
        over the declared defaults); the older ``lig_steps``, ``ig_steps`` and ``nt_samples``
        still work.
    seed
        Seed of the noise and of the randomised classifier.
    progress
        Show a progress bar over methods × conditions.
    info
        Stored in the table (data kind, model names, …).
    variants
        Extra rows ``{row name: (method key, options)}``: one method with other options,
        scored on the same images (e.g. Grad-CAM at each block, :func:`gradcam_block_variants`).
    """
    import time

    check_images(images)
    masks = torch.as_tensor(np.asarray(masks)).bool()
    if masks.shape != (images.shape[0], *images.shape[-2:]):
        raise ShapeError(f"masks {tuple(masks.shape)} must be (N, H, W) for images {tuple(images.shape)}")
    models = (autoencoder, style_autoencoder)
    if methods is None:
        methods = [k for k in registry.keys() if _missing(k, generator, models) is None]
    for m in methods:
        why = _missing(m, generator, models)
        if why is not None:
            raise registry.MissingModelError(f"method {m!r} needs {why}")
    opts = dict(options or {})
    per_method = {k: dict(v) for k, v in opts.get("methods", {}).items()}
    for old, (m, name) in _LEGACY.items():
        if old in opts:
            per_method.setdefault(m, {})[name] = opts[old]
    opts["methods"] = per_method
    registry.method_options(methods, per_method)  # bad options fail before any work
    rows_spec = [(m, m, per_method.get(m, {})) for m in methods]
    for name, (m, o) in (variants or {}).items():
        why = _missing(m, generator, models)
        if why is not None:
            raise registry.MissingModelError(f"variant {name!r}: method {m!r} needs {why}")
        merged = {**per_method.get(m, {}), **dict(o)}
        registry.method_options([m], {m: merged})
        rows_spec.append((name, m, merged))
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
    bar = tqdm(total=len(rows_spec) * len(conditions), desc="evaluate explanations", disable=not progress)
    for row_name, method, method_opts in rows_spec:
        row: dict[str, np.ndarray] = {}
        maps: dict[str, torch.Tensor] = {}
        t0 = time.perf_counter()
        for cond, (xc, clf) in conditions.items():
            bar.set_postfix(method=row_name, condition=cond)
            a = _maps(method, xc, generator, clf, models, opts, cache, method_opts)
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
                # counterfactual searches say whether they reached the other class
                flipped = a.extras.get("flipped", a.extras.get("dropped"))
                if flipped is not None:
                    row["flipped"] = flipped.float().numpy()
                    if "low_fidelity" in a.extras:
                        row["low_fidelity"] = a.extras["low_fidelity"].float().numpy()
            elif cond in ("noise", "blur"):
                row[f"iou_{cond}"] = iou_at_mask_percentile(a.map, masks).numpy()
            bar.update(1)
        seconds[row_name] = time.perf_counter() - t0
        for cond in ("noise", "blur", "randomized"):
            if cond in maps:
                name = "rank_randomized" if cond == "randomized" else f"rank_{cond}"
                row[name] = spearman(maps["clean"].abs().sum(1), maps[cond].abs().sum(1)).numpy()
        values[row_name] = row
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
    meta = {
        "n": len(x),
        "methods": [r[0] for r in rows_spec],
        "noise_sigma": noise_sigma,
        "blur_sigma": blur_sigma,
    }
    meta.update(info or {})
    return EvaluationTable(values=values, fidelity=fidelity, info=meta, seconds=seconds)
