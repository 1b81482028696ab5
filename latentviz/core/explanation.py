"""The UI-free state behind an explanation panel: one image → inversion → every map.

:class:`ExplanationSession` takes an image (tensor, array, file path or phantom sample) and
runs :func:`latentviz.explain.explain_image` on it, the same function and the same
defaults as ``latentviz explain`` (:meth:`ExplanationOptions.pipeline`): the inversion into
a conditional generator with progress reports and cancellation, the medXGAN counterfactual
and every selected method of the registry (:mod:`latentviz.explain.registry`). It renders
every panel to PNG bytes with a caption that carries the classifier probability. Signed
maps share one labelled diverging scale (each normalised to its max ``|value|``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from latentviz.bounds import Bound, OptionSpec
from latentviz.core import loading, render
from latentviz.errors import LatentvizError, ShapeError
from latentviz.explain import (
    COLORIZED_COLORMAPS,
    Counterfactual,
    Interpolation,
    InversionResult,
    explain_image,
    registry,
)
from latentviz.explain.registry import MissingModelError
from latentviz.explain.report import method_check
from latentviz.explain.verdict import (
    FAILED_COUNTERFACTUAL_PANELS,
    CounterfactualCheck,
    MethodCheck,
    OODVerdict,
    check_counterfactual,
    check_image,
    probability_text,
)
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = [
    "ExplanationCancelled",
    "ExplanationOptions",
    "ExplanationResult",
    "ExplanationSession",
    "OptionSpec",
    "Panel",
    "method_option_specs",
]


def __getattr__(name: str) -> object:
    # The old constant: the registry's default selection.
    if name == "METHODS":
        return registry.default_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ExplanationCancelled(LatentvizError):
    """The user cancelled a running inversion."""


def _option(default: Any, spec: OptionSpec) -> Any:
    """A dataclass field carrying its :class:`OptionSpec` in ``metadata["spec"]``."""
    return field(default=default, metadata={"spec": spec})


def _method_option(key: str, name: str) -> Any:
    """A field for option ``name`` of registered method ``key``: its default and spec are
    the method's own declaration, so the session, the views and the CLI share them."""
    o = registry.get(key).options[name]
    return _option(o.default, o.spec)


# Options of registered methods that the views show as their own fields.
_SHORTHANDS = {"ig_steps": ("ig", "n_steps"), "baseline": ("ig", "baseline"), "lig_steps": ("lig", "n_steps")}


def method_option_specs(methods: Any) -> dict[tuple[str, str], tuple[Any, OptionSpec]]:
    """``{(key, option): (default, spec)}`` of the declared options of ``methods`` that the
    views build widgets for: all but the :class:`ExplanationOptions` fields and the
    ``None``-default (automatic) ones, in registry order."""
    shorthand = set(_SHORTHANDS.values())
    out: dict[tuple[str, str], tuple[Any, OptionSpec]] = {}
    for key in methods:
        for name, o in registry.get(key).options.items():
            if (key, name) not in shorthand and o.default is not None:
                out[(key, name)] = (o.default, o.spec)
    return out


@dataclass
class ExplanationOptions:
    """Method options a view exposes, each declared once with its default, range and doc.

    The declarations (:meth:`spec`) drive the widgets of the notebook panel and the
    dashboard and :meth:`check`, which every computation calls on the server side.

    Attributes
    ----------
    target
        Class to explain (None: the classifier's default).
    ig_steps, lig_steps
        Path steps of IG and LIG (declared by the methods: ``ig.n_steps``, ``lig.n_steps``).
    baseline
        IG baseline: ``"black"``, ``"zero"`` or ``"blur"`` (``ig.baseline``).
    restarts, inversion_steps
        Inversion restarts (one batch) and maximum Adam steps.
    refine_evals
        Loss evaluations of the L-BFGS polish after Adam (0: no polish).
    methods
        Which attribution panels to compute (registry keys; default: the registry's
        default selection).
    seed
        Seed of the inversion's random starts.
    n_frames
        Frames of the negative → positive interpolation.
    colorized_colormap
        Colour map of the colorized map (perceptually uniform ``magma`` by default; ``jet``
        for medXGAN's look).
    method_options
        ``{key: {option: value}}`` for the other declared options of the methods.
    """

    target: int | None = _option(
        None, OptionSpec("target", "class to explain (None: the classifier's)", Bound(0, None), optional=True)
    )
    ig_steps: int = _method_option("ig", "n_steps")
    lig_steps: int = _method_option("lig", "n_steps")
    baseline: str = _method_option("ig", "baseline")
    restarts: int = _option(4, OptionSpec("restarts", "inversion restarts (one batch)", Bound(1, 32)))
    inversion_steps: int = _option(
        300, OptionSpec("Adam steps", "maximum Adam steps of the inversion", Bound(1, 5000))
    )
    methods: tuple[str, ...] = _option(
        registry.default_methods(),
        OptionSpec("methods", "attribution panels to compute", choices=registry.keys()),
    )
    seed: int = _option(0, OptionSpec("seed", "seed of the inversion's random starts", Bound(0, 2**32 - 1)))
    refine_evals: int = _option(
        300, OptionSpec("L-BFGS evals", "loss evaluations of the L-BFGS polish (0: none)", Bound(0, 3000))
    )
    n_frames: int = _option(16, OptionSpec("frames", "frames of the negative → positive path", Bound(2, 256)))
    colorized_colormap: str = _option(
        "magma",
        OptionSpec(
            "colorized colour map",
            "colour map of the colorized |difference| (jet: medXGAN's look)",
            choices=COLORIZED_COLORMAPS,
        ),
    )
    method_options: dict = field(
        default_factory=dict,
        metadata={
            "spec": OptionSpec("method options", "{method: {option: value}} over the declared defaults")
        },
    )

    @classmethod
    def spec(cls, name: str) -> OptionSpec:
        """The declaration of option ``name``."""
        return cls.specs()[name]

    @classmethod
    def specs(cls) -> dict[str, OptionSpec]:
        """Every option's declaration, in field order."""
        return {f.name: f.metadata["spec"] for f in fields(cls)}

    def check(self) -> None:
        """Enforce every declared bound.

        Raises
        ------
        OptionError
            Naming the option, the value and the allowed range.
        """
        for name, spec in self.specs().items():
            spec.check(name, getattr(self, name))
        registry.method_options(self.methods, self.method_settings())

    def method_settings(self) -> dict[str, dict[str, Any]]:
        """``{key: {option: value}}``: the shorthand fields, then :attr:`method_options`."""
        out: dict[str, dict[str, Any]] = {}
        for attr, (key, name) in _SHORTHANDS.items():
            out.setdefault(key, {})[name] = getattr(self, attr)
        for key, opts in self.method_options.items():
            out.setdefault(key, {}).update(opts)
        return out

    def pipeline(self) -> dict[str, Any]:
        """The keyword arguments of :func:`latentviz.explain.explain_image` these options
        mean: the one call the session and ``latentviz explain`` both make."""
        return {
            "methods": tuple(self.methods),
            "target": self.target,
            "inversion": {
                "restarts": self.restarts,
                "steps": self.inversion_steps,
                "seed": self.seed,
                "refine": "lbfgs" if self.refine_evals > 0 else None,
                "refine_evals": max(1, self.refine_evals),
            },
            "method_options": self.method_settings(),
            "n_frames": self.n_frames,
            "colorized_colormap": self.colorized_colormap,
        }


@dataclass
class Panel:
    """One rendered panel: a PNG and a caption (title, probability, diagnostics)."""

    key: str
    title: str
    png: bytes
    caption: str
    probability: float | None = None
    warning: str = ""


@dataclass
class ExplanationResult:
    """Everything computed for one image (tensors on the CPU)."""

    original: torch.Tensor
    probability: float
    inversion: InversionResult
    counterfactual: Counterfactual
    attributions: dict[str, Any] = field(default_factory=dict)
    mask: np.ndarray | None = None
    ood: OODVerdict | None = None
    counterfactual_check: CounterfactualCheck | None = None
    interpolation: Interpolation | None = None

    @property
    def low_fidelity(self) -> bool:
        return bool(self.inversion.low_fidelity[0])


class ExplanationSession:
    """Inversion and explanations of one image, for the notebook panel and the dashboard.

    Parameters
    ----------
    image
        ``(1, C, H, W)``/``(C, H, W)``/``(H, W)`` tensor or array in ``[-1, 1]``, a
        :class:`~latentviz.data.MedicalImage` (what :func:`latentviz.data.read_image`
        returns; a volume gives its middle slice) or a path (DICOM, NIfTI, PNG, …), fitted
        to the generator's size with ``window``.
    generator
        A conditional (z1, z2) generator (medXGAN-style) for the counterfactual and LIG.
    classifier
        The classifier to explain.
    mask
        Optional ground-truth lesion mask ``(H, W)`` (phantom samples have one).
    window
        Window used for a path or a MedicalImage; default: the model's window when the
        units match (HU for the CT models), else the file's own, else percentiles — the
        dashboard's default (:func:`latentviz.core.loading.default_window`).
    options
        :class:`ExplanationOptions`.
    autoencoder
        Optional generator with an encoder for the methods that need one (``latent_shift``
        with a VAE; ``style_cf`` / ``style_lig`` with a style-based autoencoder such as
        ``cxr-gaan``); :attr:`available_methods` says what can run.

    Attributes
    ----------
    ood
        The out-of-distribution verdict of the image (:func:`latentviz.models.ood.check_image`),
        known before anything runs; views show it before any probability.
    """

    def __init__(
        self,
        image: Any,
        generator: Generator,
        classifier: Classifier,
        *,
        mask: np.ndarray | torch.Tensor | None = None,
        window: Any = None,
        options: ExplanationOptions | None = None,
        autoencoder: Generator | None = None,
    ) -> None:
        if not generator.is_conditional:
            raise LatentvizError(
                f"the explanation panel needs a conditional (z1, z2) generator such as cxr-medxgan; "
                f"{generator.name} is not one"
            )
        self.generator = generator
        self.classifier = classifier
        if autoencoder is not None and autoencoder.image_shape != generator.image_shape:
            raise ShapeError(
                f"autoencoder {autoencoder.name} makes {autoencoder.image_shape} images; "
                f"{generator.name} makes {generator.image_shape}"
            )
        self.autoencoder = autoencoder
        self.options = options or ExplanationOptions()
        self.options.check()
        self.source = str(image) if isinstance(image, (str, Path)) else "array"
        self.source_image = loading.medical_image(image)  # None for arrays and tensors
        self.image = self._load(image if self.source_image is None else self.source_image, window)
        c, h, w = generator.image_shape
        if tuple(self.image.shape[1:]) != (c, h, w):
            raise ShapeError(
                f"image has shape {tuple(self.image.shape[1:])}; {generator.name} makes {(c, h, w)}"
            )
        self.mask = None if mask is None else np.asarray(torch.as_tensor(mask).cpu(), dtype=bool).squeeze()
        if self.mask is not None and self.mask.shape != (h, w):
            raise ShapeError(f"mask has shape {self.mask.shape}; the image is {(h, w)}")
        self.ood: OODVerdict = check_image(classifier, self.image, image=self.source_image)
        self.result: ExplanationResult | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available_methods(self) -> tuple[str, ...]:
        """Registry keys that can run with this session's models, in listing order."""
        return registry.available(self.generator, self.autoencoder)

    @classmethod
    def from_phantom(
        cls,
        generator: Generator,
        classifier: Classifier,
        kind: str | None = None,
        index: int = 0,
        seed: int = 0,
        options: ExplanationOptions | None = None,
        autoencoder: Generator | None = None,
    ) -> ExplanationSession:
        """A positive phantom sample (with its ground-truth mask) at the generator's size.

        ``kind`` defaults to the phantom the generator was trained on (``"cxr"`` when unknown).
        """
        from latentviz.data.phantoms import generate

        kind = kind or loading.phantom_kind(generator) or "cxr"
        size = generator.image_shape[-1]
        batch = generate(kind, index + 1, size=size, seed=seed, labels=np.ones(index + 1, dtype=np.int64))
        return cls(
            torch.as_tensor(batch.images[index : index + 1]),
            generator,
            classifier,
            mask=batch.masks[index],
            options=options,
            autoencoder=autoencoder,
        )

    def _load(self, image: Any, window: Any) -> torch.Tensor:
        return loading.as_model_image(image, self.generator, window)

    @classmethod
    def from_zoo(
        cls,
        model: str | Generator,
        classifier: str | Classifier | None = None,
        image: torch.Tensor | np.ndarray | str | Path | None = None,
        *,
        index: int = 0,
        seed: int = 0,
        window: Any = None,
        options: ExplanationOptions | None = None,
        autoencoder: str | Generator | None = None,
    ) -> ExplanationSession:
        """The one-liner behind the views: zoo names (or objects) in, a session out.

        ``classifier=None`` takes the zoo classifier of the generator's phantom;
        ``image=None`` takes a positive phantom sample with its ground-truth mask;
        ``autoencoder`` (a zoo name such as ``"cxr-gaan"`` or an object) enables the
        methods that need an encoder.
        """
        g = loading.load_generator(model)
        ae = loading.load_generator(autoencoder) if autoencoder is not None else None
        c = loading.load_classifier(classifier) if classifier is not None else loading.default_classifier(g)
        if c is None:
            raise LatentvizError(f"{g.name} has no zoo classifier; pass classifier=")
        if image is None:
            return cls.from_phantom(g, c, index=index, seed=seed, options=options, autoencoder=ae)
        return cls(image, g, c, window=window, options=options, autoencoder=ae)

    # -- compute ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask a running :meth:`run` to stop at its next inversion step."""
        self._cancel.set()

    def run(self, progress: Callable[[int, int], Any] | None = None) -> ExplanationResult:
        """Invert the image and compute every panel (blocking).

        ``progress(step, total)`` is called once per inversion step (Adam steps, then L-BFGS
        evaluations: ``total`` grows to ``inversion_steps + refine_evals`` then). Raises
        :class:`ExplanationCancelled` when :meth:`cancel` was called meanwhile.
        """
        self._cancel.clear()
        o = self.options
        o.check()
        if o.target is not None:  # the upper bound is the classifier's, not a constant
            Bound(0, len(self.classifier.target_names) - 1).check("target", o.target)

        def step(i: int, info: dict) -> None:  # invert's per-step callback; raising cancels
            if self._cancel.is_set():
                raise ExplanationCancelled("inversion cancelled")
            if progress is not None:
                progress(i, int(info.get("steps", o.inversion_steps)))

        call = o.pipeline()
        call["inversion"]["callback"] = step
        missing = [m for m in call["methods"] if m not in self.available_methods]
        if missing:
            raise MissingModelError(
                f"methods {missing} need a model this session does not have: "
                + "; ".join(
                    f"{m}: {registry.get(m).missing(self.generator, self.autoencoder)}" for m in missing
                )
            )
        expl = explain_image(
            self.generator, self.classifier, self.image, progress=False, autoencoder=self.autoencoder, **call
        )
        if self._cancel.is_set():
            raise ExplanationCancelled("inversion cancelled")
        p = float(expl.probability[0])
        check = check_counterfactual(p, float(expl.counterfactual.probability_negative[0]))
        self.result = ExplanationResult(
            expl.original,
            p,
            expl.inversion,
            expl.counterfactual,
            expl.attributions,
            self.mask,
            ood=self.ood,
            counterfactual_check=check,
            interpolation=expl.interpolation,
        )
        return self.result

    def start(
        self,
        on_done: Callable[[ExplanationResult], Any],
        on_error: Callable[[BaseException], Any],
        progress: Callable[[int, int], Any] | None = None,
    ) -> threading.Thread:
        """Run :meth:`run` on a background thread (the kernel stays responsive)."""
        if self.running:
            raise LatentvizError("an explanation is already running; cancel it first")

        def work() -> None:
            try:
                res = self.run(progress)
            except BaseException as exc:
                on_error(exc)
            else:
                on_done(res)

        self._thread = threading.Thread(target=work, name="latentviz-explain", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background run ends; False on timeout."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    # -- pictures ----------------------------------------------------------------------------
    def method_checks(self) -> dict[str, MethodCheck]:
        """What each method's map of the last result may claim, by method key.

        The same checks the panels, the figure and ``latentviz explain``'s JSON report: a walk
        that never crossed the threshold (``failed``), a map built on a low-fidelity
        reconstruction, a map of an image foreign to the classifier (``foreign``, from
        :attr:`ood`), the walk's start and end probability (:class:`MethodCheck`).
        """
        r = self.result
        if r is None:
            raise LatentvizError("nothing to check yet: call run() first")
        return {key: method_check(key, a, verdict=r.ood) for key, a in r.attributions.items()}

    def panels(self, show_mask: bool = True, alpha: float = 0.5) -> list[Panel]:
        """Every panel of the last result, rendered (PNG bytes and captions).

        Signed maps (difference, IG, LIG) and Grad-CAM are each divided by their largest
        ``|value|`` and share the diverging scale of :meth:`colorbar`. On an image foreign to
        the classifier (:attr:`ood`) every probability reads "n/a (out of distribution)"; a
        failed counterfactual (the negative does not lower p) is drawn greyed out, with the
        reason as its warning, instead of as an explanation.
        """
        r = self.result
        if r is None:
            raise LatentvizError("nothing to show yet: call run() first")
        inv, cf = r.inversion, r.counterfactual
        mask = r.mask if (show_mask and r.mask is not None) else None
        orig_u8 = render.to_uint8(r.original[0])
        orig_grey = orig_u8 if orig_u8.ndim == 2 else orig_u8.mean(axis=2).astype(np.uint8)

        def finish(rgb_or_grey: np.ndarray) -> bytes:
            img = render.draw_contour(rgb_or_grey, mask) if mask is not None else rgb_or_grey
            return render.png_bytes(img)

        pt = lambda v: probability_text(v, r.ood)  # noqa: E731
        p_rec = float(inv.probability_reconstruction[0])
        p_pos, p_neg = float(cf.probability_positive[0]), float(cf.probability_negative[0])
        fid = f"PSNR {float(inv.psnr[0]):.1f} dB, SSIM {float(inv.ssim[0]):.2f}"
        warn = (
            "LOW FIDELITY: the reconstruction does not match the image; distrust the maps"
            if r.low_fidelity
            else ""
        )
        out = [
            Panel("original", "Original", finish(orig_u8), f"p={pt(r.probability)}", r.probability),
            Panel(
                "reconstruction",
                "Reconstruction",
                finish(render.to_uint8(inv.reconstruction[0])),
                f"p={pt(p_rec)} · {fid}",
                p_rec,
                warn,
            ),
            Panel(
                "negative",
                "Negative (z2 = 0)",
                finish(render.to_uint8(cf.negative[0])),
                f"p={pt(p_neg)}",
                p_neg,
            ),
            self._signed_panel(
                "difference",
                "Difference pos − neg",
                cf.difference[0],
                finish,
                f"Δp={pt(0.0)}" if r.ood is not None and r.ood.foreign else f"Δp={p_pos - p_neg:+.3f}",
                p_pos,
            ),
            Panel(
                "colorized",
                "Colorized",
                finish(
                    render.heat_overlay(
                        orig_grey, cf.difference[0], alpha=alpha, colormap=self.options.colorized_colormap
                    )
                ),
                f"p={pt(r.probability)} (original)",
                r.probability,
            ),
        ]
        if r.counterfactual_check is not None and r.counterfactual_check.failed:
            out = [
                _failed_panel(p, r.counterfactual_check, pt) if p.key in FAILED_COUNTERFACTUAL_PANELS else p
                for p in out
            ]
        reg = registry.explainers()
        for key, a in r.attributions.items():
            extra = ""
            if a.delta is not None:
                extra = f" · completeness Δ={float(a.delta.reshape(-1)[0]):+.2g}"
            check = method_check(key, a, verdict=r.ood)
            p_text = f"p={pt(r.probability)}"
            if check.probability_start is not None and check.probability_end is not None:
                p_text = f"p {pt(check.probability_start)} → {pt(check.probability_end)} along the walk"
            # the medXGAN inversion's flag for the maps built on it, the method's own otherwise
            reasons = [warn] if ("generator" in reg[key].needs and warn) else []
            reasons += check.warnings(reg[key].label)
            panel = self._signed_panel(
                key, reg[key].label, a.map[0], finish, f"{p_text}{extra}", r.probability, " · ".join(reasons)
            )
            if check.failed:  # no counterfactual: greyed out, not drawn as a map
                panel = _washed(
                    panel, f"{reg[key].label} — NO COUNTERFACTUAL", "not an explanation: " + p_text
                )
            out.append(panel)
        return out

    @staticmethod
    def _signed_panel(
        key: str,
        title: str,
        values: torch.Tensor,
        finish: Callable[[np.ndarray], bytes],
        caption: str,
        probability: float,
        warning: str = "",
    ) -> Panel:
        v = values.detach().cpu().float()
        v = v.sum(0) if v.ndim == 3 else v
        peak = float(v.abs().max())
        u8 = render.signed_to_uint8(v, peak if peak > 0 else 1.0)
        rgb = render.apply_colormap(u8, "diverging")
        return Panel(key, title, finish(rgb), f"{caption} · max|v|={peak:.3g}", probability, warning)

    #: What the shared colour bar of the signed panels measures.
    COLORBAR_LABEL = "value / max|value| of each map (red: raises p)"
    #: What the colorized panel's colour bar measures.
    COLORIZED_LABEL = "|difference| / max|difference| (colorized)"

    @classmethod
    def colorbar(cls, length: int = 256, label: bool = True) -> bytes:
        """The shared colour scale of the signed panels (``length`` px of colour ramp);
        ``label=False`` leaves the label (:attr:`COLORBAR_LABEL`) to the caller."""
        return render.colorbar_png(
            "diverging", -1.0, 1.0, cls.COLORBAR_LABEL if label else None, length=length
        )

    def colorized_colorbar(self, length: int = 256, label: bool = True) -> bytes:
        """The colour scale of the colorized panel, in its colour map (:attr:`options`)."""
        return render.colorbar_png(
            self.options.colorized_colormap, 0.0, 1.0, self.COLORIZED_LABEL if label else None, length=length
        )

    def figure_png(self, show_mask: bool = True, scale: int = 2) -> bytes:
        """All panels side by side in one labelled PNG (for reports and exports).

        Tiles are upscaled (nearest) to at least 128 px wide, so their captions have room.
        """
        panels = self.panels(show_mask)
        images = [np.asarray(Image.open(io.BytesIO(p.png)).convert("RGB")) for p in panels]
        footers = [p.caption.split(" · ")[0] for p in panels]
        width = images[0].shape[1]
        scale = max(scale, -(-128 // width))
        head = max(render.label_lines(p.title, width, scale) for p in panels)
        foot = max(render.label_lines(f, width, scale) for f in footers)
        tiles = [
            render.label_image(u8, p.title, scale=scale, footer=f, lines=head, footer_lines=foot)
            for u8, p, f in zip(images, panels, footers)
        ]
        return render.png_bytes(render.strip(tiles), compress_level=6)


def _washed(panel: Panel, title: str, caption: str, warning: str | None = None) -> Panel:
    """``panel`` greyed out and washed pale (low contrast: not to be read as a map)."""
    grey = np.asarray(Image.open(io.BytesIO(panel.png)).convert("L"), dtype=np.float32)
    pale = (160 + grey * (80 / 255)).astype(np.uint8)
    return Panel(
        panel.key, title, render.png_bytes(pale), caption, panel.probability, warning or panel.warning
    )


def _failed_panel(panel: Panel, check: CounterfactualCheck, pt: Callable[[float], str]) -> Panel:
    """``panel`` greyed out and washed pale, titled as failed, with the reason as its warning."""
    return _washed(
        panel,
        f"{panel.title} — FAILED",
        f"not an explanation: p(negative)={pt(check.p_negative)} ≥ p(original)={pt(check.p_original)}",
        check.reason,
    )
