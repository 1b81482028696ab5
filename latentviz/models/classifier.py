"""The classifier wrapper: makes explicit what explanations need.

* whether the module returns logits or probabilities;
* sigmoid (one output per class, or a single binary logit) or softmax;
* the target class;
* the layer Grad-CAM should use (auto-picked for common torchvision models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from latentviz.errors import ArgumentError, ImageValueError, ShapeError
from latentviz.models.device import pick_device
from latentviz.models.generator import module_sha256

__all__ = ["Classifier", "find_gradcam_layer"]


def find_gradcam_layer(module: nn.Module) -> nn.Module:
    """Pick the last convolutional block of a classifier for Grad-CAM.

    torchvision ResNets use ``layer4``; DenseNets and VGGs the ``features``
    block; anything else falls back to the last ``nn.Conv2d`` in the module.

    Raises
    ------
    ArgumentError
        If the module has no convolution at all.
    """
    name = type(module).__name__.lower()
    if hasattr(module, "gradcam_layer") and isinstance(module.gradcam_layer, nn.Module):
        return module.gradcam_layer
    if "resnet" in name and hasattr(module, "layer4"):
        return module.layer4
    if ("densenet" in name or "vgg" in name) and hasattr(module, "features"):
        return module.features
    last = None
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            last = sub
    if last is None:
        raise ArgumentError(f"{type(module).__name__} has no Conv2d layer; pass gradcam_layer=")
    return last


def _first_conv_channels(module: nn.Module) -> int | None:
    """Input channels of the first ``nn.Conv2d`` in ``module`` (None without one)."""
    conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else int(conv.in_channels)


class Classifier:
    """Wrap a torch classifier with explicit output semantics.

    Public entry points (:meth:`logits`, :meth:`probabilities`, :meth:`probability`,
    :meth:`predict`) validate their input (:meth:`check_input`) and raise a typed error
    instead of returning a silent number for NaNs, another image size or another value scale.

    Parameters
    ----------
    module
        Takes images ``(N, C, H, W)`` in ``input_range`` and returns ``(N, K)`` or ``(N,)``.
    output
        ``"logits"`` or ``"probabilities"``: what the module returns.
    activation
        ``"sigmoid"`` (binary / multi-label) or ``"softmax"`` (multi-class).
    target
        Default class index explanations use (1 = positive for a binary model).
    target_names
        Names of the classes.
    gradcam_layer
        A submodule, a dotted name, or ``None`` to auto-pick.
    input_range
        Pixel range the module expects; latentviz images in [-1, 1] are mapped to it.
    in_channels
        Channels the module expects; 1-channel images are repeated to 3 when it wants 3.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    ...                     nn.Flatten(), nn.Linear(4, 1))
    >>> clf = Classifier(net, activation="sigmoid", device="cpu")
    >>> clf.probability(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2])
    """

    #: Largest |pixel| accepted. latentviz images lie in [-1, 1]; the slack admits noise
    #: tunnels and standardised test inputs, while 0..255 grey levels or Hounsfield units
    #: (the mistakes this catches) exceed it by far.
    MAX_ABS_INPUT = 8.0

    def __init__(
        self,
        module: nn.Module,
        *,
        output: Literal["logits", "probabilities"] = "logits",
        activation: Literal["sigmoid", "softmax"] = "sigmoid",
        target: int = 1,
        target_names: Sequence[str] = ("negative", "positive"),
        gradcam_layer: nn.Module | str | None = None,
        input_range: tuple[float, float] = (-1.0, 1.0),
        in_channels: int | None = None,
        name: str = "classifier",
        device: str | torch.device | None = None,
        config: dict | None = None,
    ) -> None:
        if output not in ("logits", "probabilities"):
            raise ArgumentError(f"output must be 'logits' or 'probabilities', not {output!r}")
        if activation not in ("sigmoid", "softmax"):
            raise ArgumentError(f"activation must be 'sigmoid' or 'softmax', not {activation!r}")
        self.output = output
        self.activation = activation
        self.target = int(target)
        self.target_names = list(target_names)
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.in_channels = in_channels
        self.name = name
        self.config = dict(config or {})
        self._device = pick_device(device)
        self.module = module.to(self._device).eval()
        self.module.requires_grad_(False)
        if isinstance(gradcam_layer, str):
            gradcam_layer = self.module.get_submodule(gradcam_layer)
        self._gradcam_layer = gradcam_layer
        self._sha256: str | None = None

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = module_sha256(self.module)
        return self._sha256

    @property
    def gradcam_layer(self) -> nn.Module:
        """The layer Grad-CAM attributes to (auto-picked when not given)."""
        if self._gradcam_layer is None:
            self._gradcam_layer = find_gradcam_layer(self.module)
        return self._gradcam_layer

    def to(self, device: str | torch.device) -> Classifier:
        self._device = torch.device(device)
        self.module = self.module.to(self._device)
        return self

    @property
    def image_size(self) -> int | None:
        """Side length the classifier was trained at (from its config), or None if unknown."""
        size = self.config.get("image_size")
        return int(size) if size is not None else None

    def check_input(self, x: torch.Tensor) -> None:
        """Refuse images this classifier cannot give a meaningful number for.

        Checks the layout ``(N, C, H, W)`` with ``N >= 1``, the side length recorded in the
        model's config (when there is one), finiteness, and the value range: latentviz images
        lie in [-1, 1]; values beyond ±:attr:`MAX_ABS_INPUT` mean another scale (0..255, HU).

        Raises
        ------
        ShapeError
            Wrong layout, an empty batch or another image size.
        ImageValueError
            NaN or infinite pixels, or values far outside [-1, 1].
        """
        if not isinstance(x, torch.Tensor):
            raise ShapeError(f"classifier {self.name} expects a torch tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise ShapeError(f"classifier {self.name} expects (N, C, H, W) images, got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ShapeError(f"classifier {self.name} got an empty batch {tuple(x.shape)}")
        size = self.image_size
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            raise ShapeError(
                f"classifier {self.name} was trained on {size}x{size} images, got "
                f"{x.shape[-2]}x{x.shape[-1]}; resize first (MedicalImage.to_model_input(size={size}))"
            )
        # One reduction and one host sync: NaN/inf propagate into the peak.
        peak = float(x.detach().abs().amax())
        if not math.isfinite(peak):
            raise ImageValueError(f"classifier {self.name} got an image with NaN or infinite pixels")
        if peak > self.MAX_ABS_INPUT:
            raise ImageValueError(
                f"classifier {self.name} expects images in [-1, 1] (latentviz's model range), got "
                f"values up to {peak:.4g} in magnitude; map 0..255 or modality units to "
                "[-1, 1] first (MedicalImage.to_model_input)"
            )

    def check_target(self, target: int | None, n_classes: int | None = None) -> int:
        """The class index to use, checked against the number of classes.

        ``n_classes`` is the width of the model's output when known; otherwise the number
        of ``target_names`` (at least 2) is used.
        """
        t = self.target if target is None else target
        n = n_classes if n_classes is not None else max(len(self.target_names), 2)
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < n:
            names = f" ({', '.join(self.target_names)})" if len(self.target_names) == n else ""
            raise ShapeError(
                f"target {t!r} is not a class of classifier {self.name}: valid indices 0..{n - 1}{names}"
            )
        return int(t)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Map latentviz images (N, C, H, W) in [-1, 1] to what the module expects.

        Validates the batch first (:meth:`check_input`).
        """
        self.check_input(x)
        return self._prepare(x)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self._device)
        lo, hi = self.input_range
        if (lo, hi) != (-1.0, 1.0):
            x = (x + 1.0) * ((hi - lo) / 2.0) + lo
        channels = self.in_channels if self.in_channels is not None else _first_conv_channels(self.module)
        if channels is not None and x.shape[1] != channels:
            if x.shape[1] == 1 and channels == 3:
                x = x.expand(-1, 3, -1, -1)
            else:
                raise ShapeError(
                    f"classifier {self.name} expects {channels} channels, got {x.shape[1]}"
                )
        return x

    def forward_raw(self, x: torch.Tensor) -> torch.Tensor:
        """The module's own output on prepared input, as ``(N, K)``."""
        out = self.module(x)
        return out.unsqueeze(1) if out.ndim == 1 else out

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, K)``. For a module that returns probabilities they are recovered
        by the inverse of the activation (logit or log)."""
        return self._logits(self.prepare(x))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_raw(x)
        if self.output == "logits":
            return out
        p = out.clamp(1e-7, 1 - 1e-7)
        return torch.log(p / (1 - p)) if self.activation == "sigmoid" else torch.log(p)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(N, K)``; a single binary logit gives ``(N, 2)``."""
        return self._probabilities(self.prepare(x))

    def _probabilities(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_raw(x)
        if self.output == "logits":
            out = torch.sigmoid(out) if self.activation == "sigmoid" else torch.softmax(out, dim=1)
        if self.activation == "sigmoid" and out.shape[1] == 1:
            out = torch.cat([1 - out, out], dim=1)
        return out

    def probability(self, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
        """Probability of ``target`` (default: ``self.target``), shape ``(N,)``."""
        p = self.probabilities(x)
        return p[:, self.check_target(target, n_classes=p.shape[1])]

    def score(self, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
        """The scalar function attribution methods explain: the target probability.

        Shape ``(N,)``; differentiable in ``x``.
        """
        return self.probability(x, target)

    def as_module(self, kind: Literal["probability", "logit"] = "probability") -> nn.Module:
        """An ``nn.Module`` mapping latentviz images to ``(N, K)`` probabilities or logits,
        for captum (select the class with captum's ``target=``)."""
        return _ClassifierHead(self, kind)

    def predict(self, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Target probabilities for many images, without a graph, shape ``(N,)``."""
        with torch.inference_mode():
            return torch.cat([self.probability(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def __repr__(self) -> str:
        return (
            f"Classifier({self.name!r}, output={self.output!r}, activation={self.activation!r}, "
            f"target={self.target}, "
            f"device={self._device})"
        )


class _ClassifierHead(nn.Module):
    """``x -> probabilities (N, K)`` or logits, as an nn.Module (for captum)."""

    def __init__(self, classifier: Classifier, kind: str) -> None:
        super().__init__()
        self.classifier = classifier
        self.inner = classifier.module  # registered so captum hooks find the layers
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # captum perturbs inputs (noise tunnels, occlusion baselines), so the head only
        # maps them; callers validate the unperturbed input through the public methods.
        x = self.classifier._prepare(x)
        if self.kind == "logit":
            return self.classifier._logits(x)
        return self.classifier._probabilities(x)
