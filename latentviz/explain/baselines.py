"""Captum baselines as thin wrappers: Grad-CAM, Integrated Gradients and SmoothGrad.

Each builds the captum object once and forwards its options, so calling captum directly
with the same module, baseline and options gives the same numbers (tested). What the
wrappers add: the classifier's output semantics (``output="probability"`` or ``"logit"``;
a single binary logit ``l`` is exposed as the two logits ``(−l, l)`` so ``target=1`` works),
named baselines, timing and the common :class:`Attribution` result.

Defaults: Grad-CAM explains the target LOGIT (Selvaraju et al. use the pre-softmax score),
IG and SmoothGrad the target PROBABILITY (so IG's completeness is in the same units as LIG's).
"""

from __future__ import annotations

import time
from typing import ClassVar, Literal

import torch
from captum.attr import IntegratedGradients as _CaptumIG
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Saliency
from torch import nn

from latentviz.bounds import IG_STEPS, NOISE_SAMPLES, Bound, RealBound
from latentviz.errors import ArgumentError, OptionError, ShapeError
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.filters import gaussian_blur
from latentviz.explain.registry import Explainer, Option, option
from latentviz.models.classifier import Classifier
from latentviz.models.latent_layer import layer_kind

__all__ = ["GradCam", "IntegratedGradients", "SmoothGrad", "ig_baseline", "score_module"]

Output = Literal["probability", "logit"]
#: Named baselines of :func:`ig_baseline` (the declared choices of every baseline option).
BASELINES = ("black", "zero", "blur")


class _Logits(nn.Module):
    """``x -> (N, K)`` logits; a single binary logit ``l`` becomes ``(−l, l)``."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.classifier = classifier
        self.inner = classifier.module  # registered so captum's layer hooks find the layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.classifier.logits(x)
        if out.shape[1] == 1 and self.classifier.activation == "sigmoid":
            out = torch.cat([-out, out], dim=1)
        return out


def score_module(classifier: Classifier, output: Output = "probability") -> nn.Module:
    """The ``nn.Module`` captum differentiates: images in [-1, 1] → ``(N, K)`` scores."""
    if output == "probability":
        return classifier.as_module("probability")
    if output == "logit":
        return _Logits(classifier)
    raise ArgumentError(f"output must be 'probability' or 'logit', not {output!r}")


def _usable(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` on ``device``; copied only when made under ``torch.inference_mode`` (autograd
    refuses those tensors)."""
    x = x.to(device)
    return x.clone() if x.is_inference() else x


def _target(
    classifier: Classifier, target: object, x: torch.Tensor | None = None
) -> int | torch.Tensor:
    """The resolved target (:meth:`Classifier.resolve_target`): an index, or one per sample."""
    return classifier.resolve_target(target, x)


def conv_blocks(module: nn.Module) -> list[nn.Module]:
    """The classifier's convolutional blocks in forward order, where Grad-CAM can be read.

    A module's own ``gradcam_blocks`` (latentviz's CNN: ``block1 … block4``); a
    torchvision-style ResNet's ``layer1 … layer4``; otherwise every ``nn.Conv2d``.
    """
    own = getattr(module, "gradcam_blocks", None)
    if own is not None:
        return list(own)
    if all(hasattr(module, f"layer{i}") for i in range(1, 5)):
        return [getattr(module, f"layer{i}") for i in range(1, 5)]
    return [m for m in module.modules() if layer_kind(m) == "Conv2d"]


class GradCam(Explainer):
    """Grad-CAM through captum's ``LayerGradCam`` (``relu_attributions=True``), upsampled to
    the input size with ``LayerAttribution.interpolate``.

    The map has ONE channel: ``(N, 1, H, W)``.

    Parameters
    ----------
    classifier
        The classifier; ``layer`` defaults to ``classifier.gradcam_layer`` (its last conv block).
    output
        Differentiate the target ``"logit"`` (default) or ``"probability"``.
    """

    name = "gradcam"
    key = "gradcam"
    label = "Grad-CAM"
    needs = frozenset({"layer"})
    default = True
    options: ClassVar[dict[str, Option]] = {
        "interpolate_mode": option(
            "bilinear",
            "upsampling",
            "upsampling of the layer map",
            choices=("bilinear", "nearest", "bicubic"),
        ),
        "relu_attributions": option(True, "ReLU", "keep positive evidence only", choices=(True, False)),
        "block_from_end": option(
            1,
            "block",
            "conv block to read, counted from the last (1: the default layer; 2: the block "
            "before it, at a finer grid, …)",
            bound=Bound(1, 64),
        ),
    }

    def __init__(
        self, classifier: Classifier, layer: nn.Module | None = None, output: Output = "logit"
    ) -> None:
        classifier.require_hooks("Grad-CAM")
        self.classifier = classifier
        self.layer = classifier.gradcam_layer if layer is None else layer
        self.output = output
        self._captum = LayerGradCam(score_module(classifier, output), self.layer)
        self._by_block: dict[int, LayerGradCam] = {1: self._captum}

    def _at_block(self, block_from_end: int) -> tuple[LayerGradCam, nn.Module]:
        if block_from_end == 1:
            return self._captum, self.layer
        blocks = conv_blocks(self.classifier.module)
        if block_from_end > len(blocks):
            raise OptionError(
                "block_from_end", block_from_end, f"1 … {len(blocks)} (the classifier's conv blocks)"
            )
        layer = blocks[-block_from_end]
        if block_from_end not in self._by_block:
            self._by_block[block_from_end] = LayerGradCam(score_module(self.classifier, self.output), layer)
        return self._by_block[block_from_end], layer

    def attribute(
        self,
        inputs: torch.Tensor,
        target: int | None = None,
        interpolate_mode: str = "bilinear",
        relu_attributions: bool = True,
        block_from_end: int = 1,
    ) -> Attribution:
        t0 = time.perf_counter()
        check_images(inputs)
        captum, layer = self._at_block(int(block_from_end))
        x = _usable(inputs, self.classifier.device)
        t = _target(self.classifier, target, x)
        cam = captum.attribute(x, target=t, relu_attributions=relu_attributions)
        if cam.ndim != 4:
            raise ShapeError(
                f"Grad-CAM layer output has shape {tuple(cam.shape)}; it needs a (N, C, h, w) feature map"
            )
        up = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode=interpolate_mode)
        return Attribution(
            map=up.detach().cpu(),
            method=self.name,
            options={
                "target": Classifier.target_option(t),
                "output": self.output,
                "interpolate_mode": interpolate_mode,
                "relu_attributions": relu_attributions,
                "layer": type(layer).__name__,
                "block_from_end": int(block_from_end),
                "grid": list(cam.shape[-2:]),
            },
            seconds=time.perf_counter() - t0,
            extras={"layer_map": cam.detach().cpu()},
        )


def ig_baseline(
    x: torch.Tensor,
    baseline: Literal["black", "zero", "blur"] | float | torch.Tensor,
    blur_sigma: float = 5.0,
) -> torch.Tensor:
    """An IG baseline for images in [-1, 1].

    ``"black"``: all −1 (a black image, the paper's "zero" baseline in image terms);
    ``"zero"``: all 0 (captum's default; mid-grey in [-1, 1]); ``"blur"``: the image blurred
    with a Gaussian of ``blur_sigma`` pixels; a number or a tensor is used as given.
    """
    if isinstance(baseline, torch.Tensor):
        if baseline.shape != x.shape and baseline.shape != x.shape[1:]:
            raise ShapeError(
                f"baseline of shape {tuple(baseline.shape)} does not match inputs {tuple(x.shape)}"
            )
        return baseline.to(x).expand_as(x)
    if baseline == "black":
        return torch.full_like(x, -1.0)
    if baseline == "zero":
        return torch.zeros_like(x)
    if baseline == "blur":
        return gaussian_blur(x, blur_sigma)
    if isinstance(baseline, (int, float)):
        return torch.full_like(x, float(baseline))
    raise ArgumentError(f"baseline must be 'black', 'zero', 'blur', a number or a tensor, not {baseline!r}")


class IntegratedGradients(Explainer):
    """Integrated Gradients through captum, with named baselines and captum's convergence delta.

    Parameters
    ----------
    classifier
        The classifier.
    output
        ``"probability"`` (default) or ``"logit"``.
    """

    name = "integrated_gradients"
    key = "ig"
    label = "Integrated Gradients"
    default = True
    options: ClassVar[dict[str, Option]] = {
        "n_steps": option(32, "IG steps", "path steps of Integrated Gradients", IG_STEPS),
        "baseline": option("black", "IG baseline", "Integrated Gradients baseline", choices=BASELINES),
        "method": option(
            "gausslegendre",
            "IG rule",
            "captum's integration rule",
            choices=("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle"),
        ),
        "internal_batch_size": option(None, "IG batch", "path images per pass (None: all)", Bound(1, None)),
    }

    def __init__(self, classifier: Classifier, output: Output = "probability") -> None:
        self.classifier = classifier
        self.output = output
        self._captum = _CaptumIG(score_module(classifier, output))

    def attribute(
        self,
        inputs: torch.Tensor,
        target: int | None = None,
        baseline: Literal["black", "zero", "blur"] | float | torch.Tensor = "black",
        n_steps: int = 32,
        method: str = "gausslegendre",
        internal_batch_size: int | None = None,
        blur_sigma: float = 5.0,
    ) -> Attribution:
        """Integrated Gradients of ``inputs`` from ``baseline``.

        ``n_steps`` must lie in ``1 … 4096`` (:data:`latentviz.bounds.IG_STEPS`); outside it
        an :class:`~latentviz.errors.OptionError` is raised before captum runs.
        """
        t0 = time.perf_counter()
        check_images(inputs)
        n_steps = IG_STEPS.check("n_steps", n_steps)  # captum would assert, or allocate without limit
        x = _usable(inputs, self.classifier.device)
        t = _target(self.classifier, target, x)
        base = ig_baseline(x, baseline, blur_sigma)
        attr, delta = self._captum.attribute(
            x,
            baselines=base,
            target=t,
            n_steps=n_steps,
            method=method,
            internal_batch_size=internal_batch_size,
            return_convergence_delta=True,
        )
        return Attribution(
            map=attr.detach().cpu(),
            method=self.name,
            options={
                "target": Classifier.target_option(t),
                "output": self.output,
                "baseline": baseline if isinstance(baseline, (str, int, float)) else "tensor",
                "n_steps": n_steps,
                "method": method,
                "internal_batch_size": internal_batch_size,
                "blur_sigma": blur_sigma,
            },
            delta=delta.detach().cpu(),
            seconds=time.perf_counter() - t0,
        )


class SmoothGrad(Explainer):
    """SmoothGrad (Smilkov et al. 2017): captum's ``NoiseTunnel`` over ``Saliency``.

    Parameters
    ----------
    classifier
        The classifier.
    output
        ``"probability"`` (default) or ``"logit"``.
    """

    name = "smoothgrad"
    key = "smoothgrad"
    label = "SmoothGrad"
    options: ClassVar[dict[str, Option]] = {
        "nt_samples": option(16, "noisy copies", "SmoothGrad's noisy copies per image", NOISE_SAMPLES),
        "stdevs": option(0.3, "noise σ", "noise standard deviation (pixel units)", RealBound(0.0, 10.0)),
        "absolute": option(True, "absolute", "absolute gradients", choices=(True, False)),
        "seed": option(0, "noise seed", "seed of the noise", Bound(0, 2**32 - 1)),
    }

    def __init__(self, classifier: Classifier, output: Output = "probability") -> None:
        self.classifier = classifier
        self.output = output
        self._captum = NoiseTunnel(Saliency(score_module(classifier, output)))

    def attribute(
        self,
        inputs: torch.Tensor,
        target: int | None = None,
        nt_samples: int = 16,
        stdevs: float = 0.3,
        nt_samples_batch_size: int | None = None,
        absolute: bool = True,
        seed: int | None = 0,
    ) -> Attribution:
        """``stdevs`` is in pixel units (images span 2, so 0.3 is 15 % of the range, in
        Smilkov's 10–20 %). ``seed`` fixes the noise without touching the global RNG.
        ``nt_samples`` must lie in ``1 … 4096`` (:data:`latentviz.bounds.NOISE_SAMPLES`)."""
        t0 = time.perf_counter()
        check_images(inputs)
        nt_samples = NOISE_SAMPLES.check("nt_samples", nt_samples)
        x = _usable(inputs, self.classifier.device)
        t = _target(self.classifier, target, x)
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            attr = self._captum.attribute(
                x,
                nt_type="smoothgrad",
                nt_samples=nt_samples,
                nt_samples_batch_size=nt_samples_batch_size,
                stdevs=stdevs,
                target=t,
                abs=absolute,
            )
        return Attribution(
            map=attr.detach().cpu(),
            method=self.name,
            options={
                "target": Classifier.target_option(t),
                "output": self.output,
                "nt_samples": nt_samples,
                "stdevs": stdevs,
                "nt_samples_batch_size": nt_samples_batch_size,
                "absolute": absolute,
                "seed": seed,
            },
            seconds=time.perf_counter() - t0,
        )
