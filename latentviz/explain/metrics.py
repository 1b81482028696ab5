"""Metrics of attribution maps against ground truth, all vectorised over the batch.

* Localisation: IoU at the mask-area percentile threshold (Gifsplanation, Cohen et al. 2021),
  the pointing game (Zhang et al. 2016), and the average precision (AUPRC) of the map as a
  score for the mask's pixels.
* Faithfulness: deletion and insertion AUC (Petsiuk et al. 2018, RISE), every step of every
  image through the classifier in one chunked batch.
* Robustness: Spearman rank correlation of maps before and after a perturbation.
* Sanity: the model-randomisation test (Adebayo et al. 2018): maps must change when the
  classifier's weights are re-initialised.
* Completeness error of IG and LIG (their ``delta``).

Maps are reduced to one saliency value per pixel by :func:`saliency`: the channel sum, then
the absolute value (``reduce="abs"``, default) or the positive part (``"positive"``).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch

from latentviz.bounds import PERTURBATION_STEPS
from latentviz.errors import ArgumentError, ShapeError
from latentviz.explain.attribution import Attribution
from latentviz.models.classifier import Classifier

__all__ = [
    "auprc",
    "completeness_error",
    "deletion_insertion",
    "iou_at_mask_percentile",
    "pointing_game",
    "randomized_classifier",
    "saliency",
    "spearman",
]

Reduce = Literal["abs", "positive", "signed"]


def saliency(attribution: torch.Tensor | Attribution, reduce: Reduce = "abs") -> torch.Tensor:
    """``(N, H, W)`` saliency from an ``(N, C, H, W)`` map: channel sum, then ``reduce``."""
    m = attribution.map if isinstance(attribution, Attribution) else attribution
    if m.ndim == 4:
        m = m.sum(1)
    if m.ndim != 3:
        raise ShapeError(f"attribution maps must be (N, C, H, W) or (N, H, W), got {tuple(m.shape)}")
    if reduce == "abs":
        return m.abs()
    if reduce == "positive":
        return m.clamp_min(0)
    if reduce == "signed":
        return m
    raise ArgumentError(f"reduce must be 'abs', 'positive' or 'signed', not {reduce!r}")


def _pair(s: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    masks = torch.as_tensor(masks).to(s.device).bool()
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.shape != s.shape:
        raise ShapeError(f"masks {tuple(masks.shape)} do not match saliency maps {tuple(s.shape)}")
    if not masks.flatten(1).any(1).all():
        raise ShapeError("every mask needs at least one positive pixel (explain positive images only)")
    return s.flatten(1).float(), masks.flatten(1)


def _ranks(v: torch.Tensor) -> torch.Tensor:
    """Rank of each entry in its row, 0 = largest (ties broken by position)."""
    order = v.argsort(dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(v.shape[1], device=v.device).expand_as(order))
    return ranks


def _average_ranks(v: torch.Tensor) -> torch.Tensor:
    """Ascending ranks (0-based) per row with ties given their average rank (as scipy's)."""
    srt = v.sort(dim=1).values.contiguous()
    lo = torch.searchsorted(srt, v.contiguous(), right=False)
    hi = torch.searchsorted(srt, v.contiguous(), right=True)
    return (lo + hi - 1).to(torch.float64) / 2


def iou_at_mask_percentile(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """IoU of the map thresholded at the (1 − mask area) percentile with the mask (Gifsplanation).

    The threshold is the k-th largest saliency, k = the mask's pixel count; pixels at or above
    it AND above zero are selected (ties can select more than k; an all-zero map selects
    nothing and scores 0). IoU = |selected ∩ mask| / |selected ∪ mask|. Returns ``(N,)``.
    """
    s, m = _pair(saliency(maps, reduce), masks)
    k = m.sum(1, keepdim=True)
    thr = s.sort(dim=1, descending=True).values.gather(1, k - 1)
    sel = (s >= thr) & (s > 0)
    return (sel & m).sum(1).float() / (sel | m).sum(1).float()


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """1.0 where the map's maximum falls inside the mask, else 0.0 (also for an all-zero map).
    Returns ``(N,)``."""
    s, m = _pair(saliency(maps, reduce), masks)
    mx, idx = s.max(1, keepdim=True)
    return (m.gather(1, idx) & (mx > 0)).squeeze(1).float()


def auprc(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """Average precision of the saliency as a detector of mask pixels, ``(N,)``.

    ``AP = Σ_thresholds ΔRecall · Precision`` over the distinct saliency values, tied pixels
    counted together (sklearn's ``average_precision_score``); an all-zero map scores the
    mask's area fraction (chance).
    """
    s, m = _pair(saliency(maps, reduce), masks)
    vals, order = s.sort(dim=1, descending=True, stable=True)
    hits = m.gather(1, order).float()
    # Index of the last pixel of each pixel's tie group in the sorted order.
    neg = (-vals).contiguous()
    end = torch.searchsorted(neg, neg, right=True) - 1
    cum = hits.cumsum(1)
    precision_at_end = cum.gather(1, end) / (end + 1).float()
    return (precision_at_end * hits).sum(1) / hits.sum(1)


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation per image between two map batches (ties: average ranks),
    ``(N,)``; NaN where a map is constant (no ranking to compare)."""
    if a.shape != b.shape:
        raise ShapeError(f"maps to correlate differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    ra = _average_ranks(a.flatten(1).double())
    rb = _average_ranks(b.flatten(1).double())
    ra = ra - ra.mean(1, keepdim=True)
    rb = rb - rb.mean(1, keepdim=True)
    den = ra.norm(dim=1) * rb.norm(dim=1)
    rho = (ra * rb).sum(1) / den
    return torch.where(den > 0, rho, torch.full_like(rho, float("nan"))).float()


def deletion_insertion(
    classifier: Classifier,
    images: torch.Tensor,
    maps: torch.Tensor,
    baseline: torch.Tensor,
    n_steps: int = 16,
    target: int | None = None,
    batch_size: int = 256,
    reduce: Reduce = "abs",
) -> dict[str, torch.Tensor]:
    """Deletion and insertion AUC (Petsiuk et al. 2018).

    Pixels are switched, most salient first, in ``n_steps`` equal fractions: deletion
    replaces them in the image by ``baseline``; insertion puts them into the baseline. The
    target probability is recorded at the ``n_steps + 1`` fractions of every image (one
    chunked batch) and the AUC is the trapezoid mean. Lower deletion / higher insertion
    AUC = more faithful.

    Returns
    -------
    dict
        ``deletion``, ``insertion`` ``(N,)`` and the curves ``deletion_curve``,
        ``insertion_curve`` ``(N, n_steps + 1)``.
    """
    n_steps = PERTURBATION_STEPS.check("n_steps", n_steps)
    if images.shape != baseline.shape:
        raise ShapeError(f"baseline {tuple(baseline.shape)} must match images {tuple(images.shape)}")
    n, _, h, w = images.shape
    s = saliency(maps, reduce).flatten(1).to(images.device)
    if s.shape[1] != h * w:
        raise ShapeError(f"maps of {s.shape[1]} pixels do not match images of {h}×{w}")
    ranks = _ranks(s)  # 0 = most salient
    fracs = torch.linspace(0, 1, n_steps + 1, device=images.device)
    k = (fracs * h * w).round().long()  # pixels switched at each step
    switched = (ranks.unsqueeze(1) < k.view(1, -1, 1)).view(n, n_steps + 1, 1, h, w)  # (N, T, 1, H, W)
    img, base = images.unsqueeze(1), baseline.unsqueeze(1)
    deleted = torch.where(switched, base, img)
    inserted = torch.where(switched, img, base)
    batch = torch.cat([deleted, inserted]).flatten(0, 1)
    with torch.no_grad():
        p = torch.cat(
            [
                classifier.probability(batch[i : i + batch_size], target)
                for i in range(0, len(batch), batch_size)
            ]
        )
    p = p.view(2, n, n_steps + 1).cpu()
    auc = torch.trapezoid(p, fracs.cpu(), dim=2)
    return {"deletion": auc[0], "insertion": auc[1], "deletion_curve": p[0], "insertion_curve": p[1]}


def completeness_error(attribution: Attribution, relative: bool = False) -> torch.Tensor:
    """``|Σ map − (f(x) − f(baseline))|`` per image (the method's ``delta``).

    With ``relative=True`` it is divided by ``|f(x) − f(baseline)|`` where the method reports
    its endpoint probabilities (LIG). Raises ``ArgumentError`` for methods without a delta.
    """
    if attribution.delta is None:
        raise ArgumentError(f"{attribution.method} has no completeness delta")
    err = attribution.delta.abs()
    if relative:
        e = attribution.extras
        if "probability_positive" not in e:
            raise ArgumentError(f"{attribution.method} does not report its endpoint probabilities")
        err = err / (e["probability_positive"] - e["probability_negative"]).abs().clamp_min(1e-12)
    return err


def randomized_classifier(classifier: Classifier, seed: int = 0) -> Classifier:
    """A copy of ``classifier`` with every layer re-initialised (Adebayo et al.'s full
    model-randomisation test). The original is untouched."""
    module = copy.deepcopy(classifier.module)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for sub in module.modules():
            if sub is not module and hasattr(sub, "reset_parameters"):
                sub.reset_parameters()
    module.requires_grad_(False)
    clone = copy.copy(classifier)
    clone.module = module
    clone._sha256 = None
    layer = classifier.gradcam_layer
    names = {m: n for n, m in classifier.module.named_modules()}
    clone._gradcam_layer = module.get_submodule(names[layer]) if layer in names else None
    return clone
