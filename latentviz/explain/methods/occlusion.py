"""Occlusion (Zeiler & Fergus 2014), MONAI's "occlusion sensitivity": slide a patch of
baseline values over the image and record the drop of the target probability, through
captum's ``Occlusion``.

The patch covers every channel; overlapping patches are averaged (captum's rule).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from captum.attr import Occlusion as _CaptumOcclusion
from torch import nn

from latentviz.bounds import OCCLUSION_WINDOW, PERTURBATION_STEPS
from latentviz.explain.baselines import BASELINES, ig_baseline
from latentviz.explain.methods._captum import CaptumExplainer
from latentviz.explain.registry import Option, option

__all__ = ["Occlusion"]


class Occlusion(CaptumExplainer):
    """Sliding-window occlusion sensitivity of the target probability.

    Examples
    --------
    >>> Occlusion(classifier).attribute(x, window=8, stride=4).map.shape  # doctest: +SKIP
    torch.Size([1, 1, 64, 64])
    """

    key = "occlusion"
    label = "Occlusion"
    options: ClassVar[dict[str, Option]] = {
        "window": option(8, "patch", "side of the occluding patch (pixels)", OCCLUSION_WINDOW),
        "stride": option(4, "stride", "step between patches (pixels)", OCCLUSION_WINDOW),
        "baseline": option("black", "fill", "what the patch shows", choices=BASELINES),
        "perturbations_per_eval": option(16, "batch", "occluded images per forward pass", PERTURBATION_STEPS),
    }

    def make(self, module: nn.Module) -> _CaptumOcclusion:
        return _CaptumOcclusion(module)

    def compute(self, x: torch.Tensor, target: int, **options: Any) -> tuple[torch.Tensor, None, dict]:
        c, k, s = x.shape[1], options["window"], options["stride"]
        attr = self._captum.attribute(
            x,
            sliding_window_shapes=(c, k, k),
            strides=(c, s, s),
            baselines=ig_baseline(x, options["baseline"]),
            target=target,
            perturbations_per_eval=options["perturbations_per_eval"],
        )
        return attr, None, {}
