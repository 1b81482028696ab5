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

from latentviz.errors import ShapeError
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
    raise ValueError(f"reduce must be 'abs', 'positive' or 'signed', not {reduce!r}")


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


def iou_at_mask_percentile(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """IoU of the map's top-k pixels with the mask, k = the mask's area (Gifsplanation).

    Thresholding at the (1 − mask area) percentile selects exactly as many pixels as the mask
    has, so IoU = |top-k ∩ mask| / (2k − |top-k ∩ mask|). Returns ``(N,)``.
    """
    s, m = _pair(saliency(maps, reduce), masks)
    k = m.sum(1, keepdim=True)
    top = _ranks(s) < k
    inter = (top & m).sum(1).float()
    return inter / (2 * k.squeeze(1).float() - inter)


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """1.0 where the map's maximum falls inside the mask, else 0.0. Returns ``(N,)``."""
    s, m = _pair(saliency(maps, reduce), masks)
    return m.gather(1, s.argmax(1, keepdim=True)).squeeze(1).float()


def auprc(maps: torch.Tensor, masks: torch.Tensor, reduce: Reduce = "abs") -> torch.Tensor:
    """Average precision of the saliency as a detector of mask pixels, ``(N,)``.

    ``AP = Σ_k P@k · 1[pixel k in mask] / |mask|`` over pixels sorted by decreasing saliency
    (sklearn's ``average_precision_score`` for untied scores).
    """
    s, m = _pair(saliency(maps, reduce), masks)
    order = s.argsort(dim=1, descending=True, stable=True)
    hits = m.gather(1, order).float()
    precision = hits.cumsum(1) / torch.arange(1, s.shape[1] + 1, device=s.device)
    return (precision * hits).sum(1) / hits.sum(1)


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation per image between two map batches, ``(N,)``."""
    if a.shape != b.shape:
        raise ShapeError(f"maps to correlate differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    ra = _ranks(a.flatten(1).float()).float()
    rb = _ranks(b.flatten(1).float()).float()
    ra = ra - ra.mean(1, keepdim=True)
    rb = rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1)).clamp_min(1e-12)


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
    its endpoint probabilities (LIG). Raises ``ValueError`` for methods without a delta.
    """
    if attribution.delta is None:
        raise ValueError(f"{attribution.method} has no completeness delta")
    err = attribution.delta.abs()
    if relative:
        e = attribution.extras
        if "probability_positive" not in e:
            raise ValueError(f"{attribution.method} does not report its endpoint probabilities")
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
