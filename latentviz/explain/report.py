"""One image, every explanation: inversion → counterfactual → Grad-CAM, IG, LIG → interpolation,
and its exports (side-by-side figure PNG, raw maps .npz, JSON summary, interpolation GIF or MP4).

The GIF is written by Pillow (no ffmpeg), an MP4 by the optional ``video`` extra
(:mod:`latentviz.core.video`); each frame carries α and the classifier probability.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentviz.errors import ArgumentError, UnknownColormapError
from latentviz.explain import registry
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.counterfactual import COLORIZED_COLORMAPS, Counterfactual, counterfactual
from latentviz.explain.interpolation import Interpolation, interpolate
from latentviz.explain.inversion import InversionResult, invert
from latentviz.explain.verdict import (
    CounterfactualCheck,
    MethodCheck,
    OODVerdict,
    check_counterfactual,
    check_image_batch,
    check_method,
    probability_text,
)
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["ImageExplanation", "explain_image", "explanation_figure", "save_explanation"]


def __getattr__(name: str) -> object:
    # Kept for callers of the old constant: every registered method.
    if name == "REPORT_METHODS":
        return registry.keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def legacy_options(
    ig_steps: int | None = None, ig_baseline: str | None = None, lig_steps: int | None = None
) -> dict[str, dict]:
    """The old per-method keywords as registry options (``None``: the declared default)."""
    out: dict[str, dict] = {}
    if ig_steps is not None:
        out.setdefault("ig", {})["n_steps"] = ig_steps
    if ig_baseline is not None:
        out.setdefault("ig", {})["baseline"] = ig_baseline
    if lig_steps is not None:
        out.setdefault("lig", {})["n_steps"] = lig_steps
    return out


@dataclass
class ImageExplanation:
    """Everything :func:`explain_image` computed for a batch (CPU tensors)."""

    original: torch.Tensor
    probability: torch.Tensor
    inversion: InversionResult
    counterfactual: Counterfactual
    attributions: dict[str, Attribution]
    interpolation: Interpolation
    info: dict = field(default_factory=dict)
    ood: list[OODVerdict] = field(default_factory=list)

    def verdict(self, index: int = 0) -> OODVerdict | None:
        """The out-of-distribution verdict of image ``index`` (None when not checked)."""
        return self.ood[index] if index < len(self.ood) else None

    def counterfactual_check(self, index: int = 0) -> CounterfactualCheck:
        """:func:`~latentviz.explain.verdict.check_counterfactual` of image ``index``."""
        return check_counterfactual(
            float(self.probability[index]), float(self.counterfactual.probability_negative[index])
        )

    def method_check(self, name: str, index: int = 0) -> MethodCheck:
        """:func:`~latentviz.explain.verdict.check_method` of method ``name`` on image ``index``."""
        return method_check(name, self.attributions[name], index, self.verdict(index))

    def method_warnings(self, index: int = 0) -> list[str]:
        """Every method's reasons to distrust its map of image ``index``, in method order."""
        labels = registry.labels()
        return [w for k in self.attributions for w in self.method_check(k, index).warnings(labels.get(k, k))]

    def summary(self, index: int = 0) -> dict:
        """JSON-ready probabilities, fidelity and completeness of image ``index``."""
        inv, cf = self.inversion, self.counterfactual
        fid = {k: (v[index] if isinstance(v, list) else v) for k, v in inv.fidelity().items()}
        verdict = self.verdict(index)
        out = {
            # The verdicts come first: whether p may be read at all, and whether the
            # counterfactual lowered it.
            "ood": verdict.to_dict() if verdict is not None else {"status": "unchecked"},
            "probability_applicable": verdict is None or not verdict.foreign,
            "counterfactual": self.counterfactual_check(index).to_dict(),
            "probability": {
                "original": float(self.probability[index]),
                "reconstruction": float(inv.probability_reconstruction[index]),
                "negative": float(cf.probability_negative[index]),
                "positive": float(cf.probability_positive[index]),
            },
            "fidelity": fid,
            "low_fidelity": bool(inv.low_fidelity[index]),
            "inversion": {"seconds": inv.seconds, "steps": int(inv.steps[index]), **inv.options},
            "methods": {},
            **self.info,
        }
        if float(self.probability[index]) < 0.5:
            out["warning"] = (
                "the classifier calls this image negative (p < 0.5); medXGAN counterfactuals and LIG "
                "explain positive images (the path from G(z1*, 0) to G(z1*, z2*))"
            )
        for name, a in self.attributions.items():
            m = {"method": a.method, "options": a.options, "seconds": a.seconds}
            if a.delta is not None:
                m["completeness_delta"] = float(a.delta[index])
                m["attribution_sum"] = float(a.map[index].sum())
            if "paper_delta" in a.extras:
                m["paper_completeness_delta"] = float(a.extras["paper_delta"][index])
            m["trust"] = self.method_check(name, index).to_dict(registry.labels().get(name, name))
            out["methods"][name] = m
        return out


def explain_image(
    generator: Generator,
    classifier: Classifier,
    x: torch.Tensor,
    methods: Sequence[str] | None = None,
    *,
    target: int | None = None,
    inversion: dict | None = None,
    method_options: dict[str, dict] | None = None,
    ig_steps: int | None = None,
    ig_baseline: str | None = None,
    lig_steps: int | None = None,
    n_frames: int = 16,
    progress: bool = True,
    source_image: object = None,
    autoencoder: Generator | None = None,
    colorized_colormap: str = "magma",
) -> ImageExplanation:
    """Invert ``x`` into a conditional generator and compute every explanation.

    The one pipeline of the notebook panel, the dashboard (both through
    :class:`latentviz.core.ExplanationSession`), ``latentviz explain`` and the batch jobs:
    the maps come from :func:`latentviz.explain.registry.attribute_all` with the options
    each method declares.

    Parameters
    ----------
    generator
        A conditional (z1, z2) generator.
    classifier
        The classifier to explain.
    x
        ``(N, C, H, W)`` images in [-1, 1].
    methods
        Registry keys (default: :func:`~latentviz.explain.registry.default_methods`).
    target
        Class to explain (default: the classifier's).
    inversion
        Options for :func:`~latentviz.explain.invert` (``callback`` included).
    method_options
        ``{key: {option: value}}`` over the declared defaults.
    ig_steps, ig_baseline, lig_steps
        Shorthands for ``method_options`` of ``ig`` and ``lig`` (``None``: declared default).
    n_frames
        Frames of the negative → positive interpolation.
    progress
        Show the inversion's progress bar.
    source_image
        The :class:`~latentviz.data.MedicalImage` ``x`` came from, if any: its modality and
        photometric join the out-of-distribution check of every image.
    autoencoder
        A generator with an encoder, for ``latent_shift``.
    colorized_colormap
        Colour map of the colorized map (:data:`~latentviz.explain.COLORIZED_COLORMAPS`;
        ``"jet"`` for medXGAN's look).
    """
    check_images(x)
    if colorized_colormap not in COLORIZED_COLORMAPS:
        raise UnknownColormapError(colorized_colormap, list(COLORIZED_COLORMAPS))
    methods = registry.default_methods() if methods is None else tuple(methods)
    opts = {k: dict(v) for k, v in (method_options or {}).items()}
    for k, v in legacy_options(ig_steps, ig_baseline, lig_steps).items():
        opts.setdefault(k, {}).update(v)
    registry.method_options(methods, opts)  # unknown methods or bad options fail before the inversion
    x = x.to(classifier.device).clone()
    with torch.no_grad():
        p = classifier.probability(x, target).cpu()
    inv = invert(generator, classifier, x, target=target, progress=progress, **(inversion or {}))
    cf = counterfactual(
        generator,
        classifier,
        inv.z,
        original=x,
        target=target,
        fidelity=inv.fidelity(),
        colormap=colorized_colormap,
    )
    attrs = registry.attribute_all(
        classifier,
        x,
        methods,
        generator=generator,
        autoencoder=autoencoder,
        inversion=inv,
        target=target,
        options=opts,
    )
    for k, a in attrs.items():  # maps built on the inversion carry its flag
        if "generator" in registry.get(k).needs:
            a.extras.setdefault("low_fidelity", inv.low_fidelity.clone())
    z1, _ = generator.split(inv.z.to(generator.device))
    path = interpolate(
        generator, generator.join(z1), inv.z, n_frames=n_frames, classifier=classifier, target=target
    )
    t = classifier.resolve_target(target, per_sample=False)
    names = classifier.target_names
    info = {
        "target": t,
        "target_name": names[t] if t < len(names) else str(t),
        "colorized_colormap": colorized_colormap,
    }
    ood = check_image_batch(classifier, x, image=source_image)
    return ImageExplanation(x.cpu(), p, inv, cf, attrs, path, info, ood)


def method_check(
    name: str, attribution: Attribution, index: int = 0, verdict: OODVerdict | None = None
) -> MethodCheck:
    """What method ``name``'s map of image ``index`` may claim (its walk, its reconstruction,
    and the image's out-of-distribution ``verdict`` where it was checked)."""
    needs = registry.get(name).needs if name in registry.keys() else frozenset()
    return check_method(
        name,
        attribution,
        index,
        uses_reconstruction=bool(needs & {"generator", "autoencoder"}),
        verdict=verdict,
    )


def _grey(t: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` in [-1, 1] → displayable (H, W) or (H, W, 3) in [0, 1]."""
    a = ((t.detach().cpu().float().numpy() + 1) / 2).clip(0, 1)
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def explanation_figure(expl: ImageExplanation, index: int = 0, title: str = ""):  # -> matplotlib Figure
    """Side-by-side panels of image ``index``: original, reconstruction, negative, difference,
    colorized, then every attribution map, each titled with the classifier probability.

    Attribution maps share ONE diverging colour scale: each is divided by its own max |value|
    (so +1 is the strongest evidence for the target class in that map). Images have a grey
    scale bar in model units, the difference its own signed scale.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    inv, cf = expl.inversion, expl.counterfactual
    i = index
    p = float(expl.probability[i])
    verdict, cf_check = expl.verdict(i), expl.counterfactual_check(i)
    # short in the panel titles: the suptitle says why
    pt = lambda v: probability_text(float(v), verdict).replace("out of distribution", "OOD")  # noqa: E731
    names = list(expl.attributions)
    titles = registry.labels()
    ncols = 5 + len(names)
    fig, axes = plt.subplots(1, ncols, figsize=(2.3 * ncols + 1.8, 3.3), constrained_layout=True)
    images = [
        (expl.original[i], f"original\np={pt(p)}"),
        (inv.reconstruction[i], f"reconstruction\np={pt(inv.probability_reconstruction[i])}"),
        (cf.negative[i], f"negative G(z1*,0)\np={pt(cf.probability_negative[i])}"),
    ]
    for ax, (img, t) in zip(axes[:3], images):
        im_grey = ax.imshow(_grey(img), cmap="gray", vmin=0, vmax=1)
        ax.set_title(t, fontsize=9)
    diff = cf.difference[i].mean(0).numpy()
    s = float(np.abs(diff).max()) or 1.0
    im_diff = axes[3].imshow(diff, cmap="RdBu_r", vmin=-s, vmax=s)
    dp = float(cf.probability_positive[i] - cf.probability_negative[i])
    dp_text = "n/a" if verdict is not None and verdict.foreign else f"{dp:+.3f}"
    axes[3].set_title(f"difference G(z*)−G(z1*,0)\nΔp={dp_text}", fontsize=9)
    axes[4].imshow(cf.colorized[i].permute(1, 2, 0).numpy())
    axes[4].set_title(f"colorized |difference|\np={pt(p)}", fontsize=9)
    if cf_check.failed:  # not drawn as an explanation: greyed out and crossed
        for ax in axes[2:5]:
            _cross_out(ax, "FAILED\ncounterfactual")
    im_attr = None
    checks = {k: method_check(k, expl.attributions[k], i, verdict) for k in names}
    for ax, name in zip(axes[5:], names):
        a = expl.attributions[name]
        m = a.map[i].sum(0).numpy()
        m = m / (float(np.abs(m).max()) or 1.0)
        check = checks[name]
        im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1)
        extra = f", δ={float(a.delta[i]):+.3f}" if a.delta is not None else ""
        p_text = f"p={pt(p)}"
        if check.probability_start is not None and check.probability_end is not None:
            p_text = f"p {pt(check.probability_start)}→{pt(check.probability_end)}"  # the walk's ends
        label = titles.get(name, name)
        if check.failed:  # no counterfactual was found: greyed out and crossed, as above
            _cross_out(ax, f"{label}\nNO COUNTERFACTUAL")
        else:
            im_attr = im
            flag = "\nLOW FIDELITY" if check.low_fidelity else ""
            ax.set_title(
                f"{label}\n{p_text}{extra}{flag}",
                fontsize=9,
                color="darkred" if check.low_fidelity else "black",
            )
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im_grey, ax=axes[:3], fraction=0.02, pad=0.01, label="intensity (0 = −1, 1 = +1)")
    fig.colorbar(im_diff, ax=axes[3], fraction=0.046, pad=0.02, label="pixel difference")
    colorized_cmap = expl.info.get("colorized_colormap", "magma")
    fig.colorbar(
        matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, 1), cmap=colorized_cmap),
        ax=axes[4],
        fraction=0.046,
        pad=0.02,
        label="|difference| / max",
    )
    if im_attr is not None:
        fig.colorbar(
            im_attr, ax=list(axes[5:]), fraction=0.02, pad=0.01, label="attribution / max |attribution|"
        )
    fid = (
        f"inversion: PSNR {float(inv.psnr[i]):.1f} dB, SSIM {float(inv.ssim[i]):.3f}, "
        f"classifier {'agrees' if bool(inv.agrees[i]) else 'DISAGREES'}"
    )
    low = bool(inv.low_fidelity[i])
    warn = " — LOW FIDELITY: read the maps with care" if low else ""
    if p < 0.5 and not (verdict is not None and verdict.foreign):
        warn += " — classified NEGATIVE: medXGAN explains positives"
    if cf_check.failed:
        warn += " — COUNTERFACTUAL FAILED: the negative does not lower p"
    failed = [titles.get(k, k) for k in names if checks[k].failed]
    if failed:
        warn += " — NO COUNTERFACTUAL: " + ", ".join(failed)
    low_methods = [
        titles.get(k, k) for k in names if "generator" not in registry.get(k).needs and checks[k].low_fidelity
    ]
    if low_methods:  # the medXGAN inversion's flag is already said above
        warn += " — LOW FIDELITY reconstruction: " + ", ".join(low_methods)
    text = (title + " — " if title else "") + fid + warn
    foreign = verdict is not None and verdict.foreign
    if foreign:  # the verdict comes first, above every p
        text = verdict.message + "\n" + text
    fig.suptitle(text, fontsize=10, color="darkred" if warn or foreign else "black")
    return fig


def _cross_out(ax, title: str) -> None:
    """Grey out ``ax``'s image and cross it: drawn, but not to be read as an explanation."""
    for im in ax.get_images():
        im.set_alpha(0.25)
    ax.set_title(title, fontsize=9, color="darkred")
    ax.text(
        0.5,
        0.5,
        "not an\nexplanation",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="darkred",
        fontsize=10,
        fontweight="bold",
    )


def _path_frames(expl: ImageExplanation, index: int, scale: int) -> list[np.ndarray]:
    """The negative → positive path as RGB uint8 frames, α and p drawn on every frame."""
    from PIL import Image, ImageDraw, ImageFont

    it = expl.interpolation
    frames = it.frames if it.frames.ndim == 4 else it.frames[index]
    probs = it.probabilities if it.probabilities is not None and it.probabilities.ndim == 1 else None
    if probs is None and it.probabilities is not None:
        probs = it.probabilities[index]
    names = getattr(expl, "info", {}).get("target_name", "target")
    out = []
    for t in range(frames.shape[0]):
        a = (_grey(frames[t]) * 255 + 0.5).astype(np.uint8)
        img = (
            Image.fromarray(a).convert("RGB").resize((a.shape[1] * scale, a.shape[0] * scale), Image.NEAREST)
        )
        fs = max(11, img.width // 18)
        font = ImageFont.load_default(size=fs)
        band = 2 * fs + 10
        canvas = Image.new("RGB", (img.width, img.height + band), (255, 255, 255))
        canvas.paste(img, (0, band))
        draw = ImageDraw.Draw(canvas)
        draw.text((4, 2), f"z2 scale alpha = {float(it.alphas[t]):.2f}", fill=(0, 0, 0), font=font)
        if probs is not None:
            pt = float(probs[t])
            colour = (170, 0, 0) if pt >= 0.5 else (0, 0, 150)
            draw.text((4, fs + 6), f"p({names}) = {pt:.3f}", fill=colour, font=font)
        out.append(np.asarray(canvas))
    return out


def save_explanation(
    expl: ImageExplanation,
    out_dir: str | Path,
    stem: str = "explanation",
    index: int = 0,
    title: str = "",
    video: str = "gif",
) -> dict[str, Path]:
    """Write ``stem.png`` (figure), ``stem.npz`` (raw maps), ``stem.json`` (summary) and the
    interpolation ``stem_interpolation.gif`` (or ``.mp4``) into ``out_dir``.

    Parameters
    ----------
    video
        ``"gif"`` (Pillow) or ``"mp4"`` (needs the ``video`` extra); the key of its path in
        the returned dict.

    Returns
    -------
    dict
        ``figure``, ``maps``, ``summary`` and ``gif`` or ``mp4``: the paths written.
    """
    import matplotlib.pyplot as plt

    from latentviz.core.video import VIDEO_SUFFIXES, write_video

    if video not in VIDEO_SUFFIXES.values():
        raise ArgumentError(f"video must be one of {sorted(VIDEO_SUFFIXES.values())}, not {video!r}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "figure": out / f"{stem}.png",
        "maps": out / f"{stem}.npz",
        "summary": out / f"{stem}.json",
        video: out / f"{stem}_interpolation.{video}",
    }
    fig = explanation_figure(expl, index, title)
    fig.savefig(paths["figure"], dpi=110)
    plt.close(fig)
    inv, cf = expl.inversion, expl.counterfactual
    arrays = {
        "original": expl.original[index].numpy(),
        "reconstruction": inv.reconstruction[index].numpy(),
        "negative": cf.negative[index].numpy(),
        "difference": cf.difference[index].numpy(),
        "colorized": cf.colorized[index].numpy(),
        "z": inv.z[index].numpy(),
        "interpolation_frames": (
            expl.interpolation.frames
            if expl.interpolation.frames.ndim == 4
            else expl.interpolation.frames[index]
        ).numpy(),
    }
    for name, a in expl.attributions.items():
        arrays[name] = a.map[index].numpy()
        if "paper_map" in a.extras:
            arrays[f"{name}_paper"] = a.extras["paper_map"][index].numpy()
    np.savez_compressed(paths["maps"], **arrays)
    paths["summary"].write_text(json.dumps(expl.summary(index), indent=2, default=float))
    frames = _path_frames(expl, index, scale=max(1, 256 // expl.original.shape[-1]))
    write_video(frames, paths[video], duration_ms=150)
    return paths
