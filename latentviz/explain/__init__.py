"""Explanations: medXGAN counterfactuals, latent integrated gradients, captum baselines,
Latent Shift, latent interpolation, and metrics against ground-truth lesion masks.

Every attribution method is called one way, as in captum:
``Method(...).attribute(inputs, target=..., **options) -> Attribution``.
"""

from __future__ import annotations

from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.baselines import GradCam, IntegratedGradients, SmoothGrad, ig_baseline, score_module
from latentviz.explain.counterfactual import (
    Counterfactual,
    colorized_map,
    counterfactual,
    difference_map,
    jet,
    negative_realization,
)
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
from latentviz.explain.lig import LatentIntegratedGradients, latent_integrated_gradients

__all__ = [
    "FIDELITY_THRESHOLDS",
    "Attribution",
    "Counterfactual",
    "GradCam",
    "IntegratedGradients",
    "Interpolation",
    "InversionResult",
    "LatentIntegratedGradients",
    "LatentShift",
    "SmoothGrad",
    "add_gaussian_noise",
    "check_images",
    "colorized_map",
    "counterfactual",
    "difference_map",
    "fidelity_report",
    "gaussian_blur",
    "ig_baseline",
    "interpolate",
    "invert",
    "invert_paper",
    "jet",
    "latent_integrated_gradients",
    "mse",
    "negative_realization",
    "psnr",
    "score_module",
    "ssim",
]
