"""GradientShap (Lundberg & Lee 2017, expected gradients): IG's gradients at random points
between noisy copies of the image and a baseline, through captum's ``GradientShap``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from captum.attr import GradientShap as _CaptumGradientShap
from torch import nn

from latentviz.bounds import NOISE_SAMPLES, Bound, RealBound
from latentviz.explain.baselines import BASELINES, ig_baseline
from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option, option

__all__ = ["GradientShap"]


class GradientShap(CaptumExplainer):
    """GradientShap of the target probability from a named baseline.

    ``seed`` fixes the random samples (captum draws them from torch's AND numpy's global
    generators) without changing the state of either.
    """

    key = "gradient_shap"
    label = "GradientShap"
    options: ClassVar[dict[str, Option]] = {
        "n_samples": option(16, "samples", "random path points per image", NOISE_SAMPLES),
        "stdevs": option(0.1, "noise σ", "noise added to each sample (pixel units)", RealBound(0.0, 10.0)),
        "baseline": option("black", "baseline", "baseline image", choices=BASELINES),
        "seed": option(0, "seed", "seed of the samples", Bound(0, 2**32 - 1)),
    }

    def make(self, module: nn.Module) -> _CaptumGradientShap:
        return _CaptumGradientShap(module)

    def compute(self, x: torch.Tensor, target: int, **options: Any) -> tuple[torch.Tensor, None, dict]:
        devices = [x.device] if x.device.type == "cuda" else []
        numpy_state = np.random.get_state()  # noqa: NPY002 (captum draws from the legacy global RNG)
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(options["seed"])
                np.random.seed(options["seed"])  # noqa: NPY002 (captum draws from the legacy global RNG)
                attr = self._captum.attribute(
                    x,
                    baselines=ig_baseline(x, options["baseline"]),
                    n_samples=options["n_samples"],
                    stdevs=options["stdevs"],
                    target=target,
                )
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002 (captum draws from the legacy global RNG)
        return attr, None, {}
