"""The classifier wrapper: makes explicit what explanations need.

* whether the module returns logits or probabilities;
* sigmoid (one output per class, or a single binary logit) or softmax;
* the target class;
* the layer Grad-CAM should use (auto-picked for common torchvision models).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import numpy as np
import torch
from torch import nn

from latentviz.errors import ArgumentError, ImageValueError, ShapeError, TargetError
from latentviz.models.device import pick_device
from latentviz.models.generator import module_sha256
from latentviz.models.latent_layer import layer_inputs, layer_kind

__all__ = ["Classifier", "Target", "find_gradcam_layer"]

#: What a caller may pass as a target: a class index, a class name (from ``target_names``),
#: or one target per sample (a 1-D tensor, array or list of indices or names).
Target = int | str | Sequence[int | str] | np.ndarray | torch.Tensor


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
        if layer_kind(sub) == "Conv2d":  # TorchScript submodules too
            last = sub
    if last is None:
        raise ArgumentError(f"{type(module).__name__} has no Conv2d layer; pass gradcam_layer=")
    return last


def _module_device(module: nn.Module) -> torch.device:
    """The device of the module's first parameter or buffer (cpu without any)."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def _first_conv_channels(module: nn.Module) -> int | None:
    """Input channels of the first ``nn.Conv2d`` in ``module`` (None without one)."""
    conv = next((m for m in module.modules() if layer_kind(m) == "Conv2d"), None)
    return None if conv is None else layer_inputs(conv, "Conv2d")


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
        Default class explanations use (1 = positive for a binary model): an index or a
        name from ``target_names``. Every method that takes ``target=`` also accepts a
        name, or one target per sample (a 1-D tensor / list), see :meth:`resolve_target`.
    target_names
        Names of the classes (of every output of a multi-class or multi-label model).
    gradcam_layer
        A submodule, a dotted name, or ``None`` to auto-pick.
    input_range
        Pixel range the module expects; latentviz images in [-1, 1] are mapped to it.
    in_channels
        Channels the module expects; 1-channel images are repeated to 3 when it wants 3.
    device
        Where to run; ``None`` keeps the module where its parameters are (cpu for a module
        without any). An explicit device moves the module there.

    Notes
    -----
    Wrapping leaves the module as it was: its train/eval mode, the ``requires_grad`` of its
    parameters and its hooks are not changed. Each forward pass runs in eval mode with the
    parameters out of the autograd graph, and both are restored right after it, so the
    module still trains and other tools (MONAI's or captum's own Grad-CAM) still work on it.

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
        target: int | str = 1,
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
        self.name = name
        self.target_names = list(target_names)
        self._n_classes: int | None = None  # the output width, known after a forward pass
        if isinstance(target, str):
            target = self._class_index(target)
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
            raise TargetError(f"target must be a class index or name, not {target!r}", target)
        self.target = int(target)
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.in_channels = in_channels
        self.config = dict(config or {})
        self._device = _module_device(module) if device is None else pick_device(device)
        # ``.to`` is a no-op (and returns the same object) when the module is already there.
        self.module = module.to(self._device) if device is not None else module
        self._lock = threading.RLock()
        self._depth = 0
        if isinstance(gradcam_layer, str):  # a dotted name (get_submodule fails on TorchScript)
            modules = dict(self.module.named_modules())
            if gradcam_layer not in modules:
                raise ArgumentError(
                    f"gradcam_layer {gradcam_layer!r} is not a submodule of {name}; "
                    f"some are: {', '.join(n for n in list(modules)[1:9])}"
                )
            gradcam_layer = modules[gradcam_layer]
        self._gradcam_layer = gradcam_layer
        self._sha256: str | None = None

    def __copy__(self) -> Classifier:
        clone = object.__new__(type(self))
        clone.__setstate__(self.__getstate__())
        return clone

    def __getstate__(self) -> dict:
        # The lock is per object: a copy (or a pickled copy) gets its own.
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_depth")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._depth = 0

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def is_scripted(self) -> bool:
        """Whether the module is TorchScript (no forward hooks: no Grad-CAM or hook methods)."""
        return isinstance(self.module, torch.jit.ScriptModule)

    def require_hooks(self, method: str) -> None:
        """Refuse, with a typed error, a method that hooks layers on a TorchScript module.

        Raises
        ------
        ArgumentError
            When :attr:`is_scripted`.
        """
        if self.is_scripted:
            raise ArgumentError(
                f"{method} hooks the classifier's layers, which TorchScript modules do not allow; "
                f"{self.name} is TorchScript: use integrated_gradients, saliency, gradient_shap or "
                "occlusion, or wrap the eager nn.Module"
            )

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

    def check_input(self, x: torch.Tensor, values: bool = True) -> None:
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

        ``values=False`` checks the layout and size only: the value check reads one number
        back to the host, a sync on an accelerator (see :meth:`probabilities_trusted`).
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
        if not values:
            return
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

    def n_classes(self, x: torch.Tensor | None = None) -> int:
        """The number of classes (the width of :meth:`probabilities`).

        Known after any forward pass; otherwise found with one forward of ``x[:1]`` when
        ``x`` is given, else the number of ``target_names`` (at least 2).
        """
        if self._n_classes is None and x is not None:
            with torch.no_grad():
                self._probabilities(self._prepare(x[:1].detach()))
        if self._n_classes is not None:
            return self._n_classes
        return max(len(self.target_names), 2)

    def _valid(self, n: int) -> str:
        names = f" ({', '.join(self.target_names)})" if len(self.target_names) == n else ""
        return f"valid indices 0..{n - 1}{names}"

    def _class_index(self, name: str, n: int | None = None) -> int:
        if name not in self.target_names:
            known = ", ".join(repr(t) for t in self.target_names) or "none"
            raise TargetError(
                f"target {name!r} is not a class name of classifier {self.name}: known names {known}",
                name,
                n,
            )
        return self.target_names.index(name)

    def check_target(self, target: int | str | None, n_classes: int | None = None) -> int:
        """One class index (``target`` or the default), checked against the number of classes.

        ``n_classes`` is the width of the model's output when known; otherwise
        :meth:`n_classes` is used.

        Raises
        ------
        TargetError
            For an index outside ``0..n_classes-1`` or an unknown name (a :class:`ShapeError`).
        """
        t = self.target if target is None else target
        n = n_classes if n_classes is not None else self.n_classes()
        if isinstance(t, str):
            t = self._class_index(t, n)
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= int(t) < n:
            raise TargetError(
                f"target {t!r} is not a class of classifier {self.name}: {self._valid(n)}", t, n
            )
        return int(t)

    def resolve_target(
        self,
        target: Target | None = None,
        x: torch.Tensor | None = None,
        *,
        n_classes: int | None = None,
        per_sample: bool = True,
    ) -> int | torch.Tensor:
        """The class(es) to explain, as captum takes them.

        Parameters
        ----------
        target
            ``None`` (the default :attr:`target`), a class index, a class name, or one
            target per sample: a 1-D tensor, array or list of indices or names.
        x
            The batch the target is for: per-sample targets must match its length, and
            its first image gives the number of classes when no forward pass ran yet.
        n_classes
            The output width, when the caller knows it.
        per_sample
            Whether per-sample targets are allowed; when not, targets that are all the same
            class are taken as that one class.

        Returns
        -------
        int or torch.Tensor
            One index, or a ``(N,)`` long tensor on the classifier's device.

        Raises
        ------
        TargetError
            An index outside the valid range (named in the message), an unknown name, or
            per-sample targets that do not fit the batch.
        """
        n = n_classes if n_classes is not None else self.n_classes(x)
        t = self.target if target is None else target
        if isinstance(t, torch.Tensor) and t.ndim == 0:
            t = int(t)
        if isinstance(t, np.ndarray) and t.ndim == 0:
            t = t.item()
        if isinstance(t, (str, int, np.integer)):
            return self.check_target(t, n)
        if not isinstance(t, (torch.Tensor, np.ndarray, list, tuple)):
            raise TargetError(f"target must be an index, a class name or one per sample, not {t!r}", t, n)
        items = t.tolist() if isinstance(t, (torch.Tensor, np.ndarray)) else list(t)
        if any(isinstance(i, (list, tuple)) for i in items):
            raise TargetError(f"per-sample targets must be 1-D (one class per sample), got {t!r}", t, n)
        idx = [self.check_target(i, n) for i in items]
        if x is not None and len(idx) != x.shape[0]:
            raise TargetError(
                f"{len(idx)} per-sample targets for a batch of {x.shape[0]} images; give one per image",
                t,
                n,
            )
        if not idx:
            raise TargetError("per-sample targets are empty", t, n)
        if not per_sample:
            if len(set(idx)) != 1:
                raise TargetError(f"this method explains one class for the batch, got {idx}", t, n)
            return idx[0]
        return torch.tensor(idx, dtype=torch.long, device=self._device)

    @staticmethod
    def target_option(target: int | torch.Tensor) -> int | list[int]:
        """A resolved target as JSON-friendly options record it (an int or a list)."""
        return target.tolist() if isinstance(target, torch.Tensor) else int(target)

    @staticmethod
    def select(p: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
        """Column ``target`` of ``(N, K)`` scores, or one column per sample: ``(N,)``."""
        if isinstance(target, torch.Tensor):
            return p.gather(1, target.to(p.device).view(-1, 1)).squeeze(1)
        return p[:, target]

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

    @contextmanager
    def frozen(self) -> Iterator[nn.Module]:
        """The module in eval mode with its parameters out of autograd, restored on exit.

        Explanations need eval mode (BatchNorm statistics, no dropout) and gradients for
        the input only; the user's own settings come back afterwards. Re-entrant and
        thread-safe (one lock per classifier).
        """
        with self._lock:
            self._depth += 1
            saved = None
            if self._depth == 1:
                saved = (
                    [(m, m.training) for m in self.module.modules()],
                    [(p, p.requires_grad) for p in self.module.parameters()],
                )
                self.module.eval()
                for p, _ in saved[1]:
                    p.requires_grad_(False)
            try:
                yield self.module
            finally:
                self._depth -= 1
                if saved is not None:
                    for m, training in saved[0]:
                        m.training = training
                    for p, flag in saved[1]:
                        p.requires_grad_(flag)

    def forward_raw(self, x: torch.Tensor) -> torch.Tensor:
        """The module's own output on prepared input, as ``(N, K)`` (in :meth:`frozen`)."""
        with self.frozen() as module:
            out = module(x)
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

    def probabilities_trusted(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`probabilities` without the value check, so without a device→host sync.

        For hot loops on a generator's own images (inversion steps, slider frames), whose
        values the generator bounds; the layout and size are still checked.
        """
        self.check_input(x, values=False)
        return self._probabilities(self._prepare(x))

    def _probabilities(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_raw(x)
        if self.output == "logits":
            out = torch.sigmoid(out) if self.activation == "sigmoid" else torch.softmax(out, dim=1)
        if self.activation == "sigmoid" and out.shape[1] == 1:
            out = torch.cat([1 - out, out], dim=1)
        self._n_classes = int(out.shape[1])
        return out

    def probability(self, x: torch.Tensor, target: Target | None = None) -> torch.Tensor:
        """Probability of ``target`` (default: ``self.target``; an index, a name or one per
        sample), shape ``(N,)``."""
        p = self.probabilities(x)
        return self.select(p, self.resolve_target(target, x, n_classes=p.shape[1]))

    def probability_trusted(self, x: torch.Tensor, target: Target | None = None) -> torch.Tensor:
        """:meth:`probability` without the value check (see :meth:`probabilities_trusted`)."""
        p = self.probabilities_trusted(x)
        return self.select(p, self.resolve_target(target, x, n_classes=p.shape[1]))

    def score(self, x: torch.Tensor, target: Target | None = None) -> torch.Tensor:
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
