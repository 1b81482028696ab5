"""Explanations: medXGAN counterfactuals, latent integrated gradients, captum baselines,
Latent Shift, latent interpolation, and metrics against ground-truth lesion masks.

Every attribution method is called one way, as in captum:
``Method(...).attribute(inputs, target=..., **options) -> Attribution``, and is one
:class:`Explainer` in the registry (:mod:`latentviz.explain.registry`) that every front end
reads.
"""

from __future__ import annotations

from latentviz.explain import registry  # noqa: F401 (the method registry, as a submodule)
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.baselines import GradCam, IntegratedGradients, SmoothGrad, ig_baseline, score_module
from latentviz.explain.counterfactual import (
    COLORIZED_COLORMAPS,
    Counterfactual,
    colorized_map,
    counterfactual,
    difference_map,
    jet,
    negative_realization,
)
from latentviz.explain.evaluation import EvaluationTable, evaluate_explanations, mean_ci
from latentviz.explain.fidelity import mse, psnr, ssim
from latentviz.explain.filters import add_gaussian_noise, gaussian_blur
from latentviz.explain.interpolation import Interpolation, interpolate
from latentviz.explain.inversion import (
    FIDELITY_THRESHOLDS,
    InversionResult,
    fidelity_report,
    invert,
    invert_paper,
)
from latentviz.explain.latent_shift import LatentShift
from latentviz.explain.lig import (
    LatentIntegratedGradients,
    LatentIntegratedGradientsPaper,
    latent_integrated_gradients,
)
from latentviz.explain.methods import (
    LRP,
    DeepLift,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    MedXGANDifference,
    Occlusion,
    Saliency,
)
from latentviz.explain.metrics import (
    auprc,
    completeness_error,
    deletion_insertion,
    iou_at_mask_percentile,
    pointing_game,
    randomized_classifier,
    saliency,
    spearman,
)
from latentviz.explain.registry import Explainer, Option, attribute_all, explainers
from latentviz.explain.report import ImageExplanation, explain_image, explanation_figure, save_explanation

__all__ = [
    "COLORIZED_COLORMAPS",
    "FIDELITY_THRESHOLDS",
    "LRP",
    "Attribution",
    "Counterfactual",
    "DeepLift",
    "EvaluationTable",
    "Explainer",
    "GradCam",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCam",
    "ImageExplanation",
    "IntegratedGradients",
    "Interpolation",
    "InversionResult",
    "LatentIntegratedGradients",
    "LatentIntegratedGradientsPaper",
    "LatentShift",
    "MedXGANDifference",
    "Occlusion",
    "Option",
    "Saliency",
    "SmoothGrad",
    "add_gaussian_noise",
    "attribute_all",
    "auprc",
    "check_images",
    "colorized_map",
    "completeness_error",
    "counterfactual",
    "deletion_insertion",
    "difference_map",
    "evaluate_explanations",
    "explain_image",
    "explainers",
    "explanation_figure",
    "fidelity_report",
    "gaussian_blur",
    "ig_baseline",
    "interpolate",
    "invert",
    "invert_paper",
    "iou_at_mask_percentile",
    "jet",
    "latent_integrated_gradients",
    "mean_ci",
    "mse",
    "negative_realization",
    "pointing_game",
    "psnr",
    "randomized_classifier",
    "saliency",
    "save_explanation",
    "score_module",
    "spearman",
    "ssim",
]
