"""Direction discovery for style-based generators: W, W+ layer ranges and StyleSpace.

* :func:`ganspace_w`: GANSpace on StyleGAN (Härkönen et al. 2020): PCA of w samples
  from the mapping network; each component is applied to a chosen range of style layers.
* :func:`sefa_style`: SeFa on StyleGAN (Shen & Zhou 2021): eigenvectors of ``AᵀA`` where
  ``A`` stacks the style affine weights of the chosen layers' convolutions, each output
  unit's weights normalised to unit length as the official code does.
* :func:`attfind`: StylEx's AttFind (Lang et al. 2021): rank StyleSpace coordinates by how
  much shifting each one moves the classifier's probability, keep the top ones.

A W direction applied to every layer is a set in ``"w"``; applied to a layer range it is
lifted into ``"w+"`` (zeros outside the range), so sliders, interpolation and the batch
store use it like any other set. ``params["layers"]`` records the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.ganspace import fit_pca
from latentviz.directions.registry import (
    CLASSIFIER,
    STYLE,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    register_method,
)
from latentviz.directions.sefa import sefa_eigen
from latentviz.errors import LatentError
from latentviz.models.style import StyleGenerator, layer_range, lift_direction

__all__ = ["STYLE_METHODS", "attfind", "discover_style", "ganspace_w", "lift_set", "sefa_style"]


def _check_style(generator: object) -> StyleGenerator:
    if not isinstance(generator, StyleGenerator):
        raise LatentError(
            f"{getattr(generator, 'name', type(generator).__name__)} is not a style-based generator; "
            "use sefa/ganspace/voynov for flat-latent models"
        )
    return generator


def _pack(
    generator: StyleGenerator,
    vectors: np.ndarray,
    sigmas: np.ndarray,
    scores: np.ndarray,
    layers: tuple[int, ...],
    method: str,
    params: dict,
) -> DirectionSet:
    """W directions ``(K, w_dim)`` as a set in W (all layers) or lifted into W+."""
    all_layers = layers == tuple(range(generator.num_ws))
    params = {**params, "layers": list(layers), "base_space": "w"}
    names = [
        f"{method} {i}" + ("" if all_layers else f" [{layers[0]}–{layers[-1]}]") for i in range(len(vectors))
    ]
    if all_layers and generator.latent_space == "w":
        return DirectionSet(vectors, names, scores, method, params, generator.sha256, "w", sigmas=sigmas)
    lifted = lift_direction(torch.as_tensor(vectors, dtype=torch.float32), generator.num_ws, layers).numpy()
    # One σ in W moves each edited layer by σ: |Δ| in W+ is σ·√(layers).
    return DirectionSet(
        lifted, names, scores, method, params, generator.sha256, "w+", sigmas=sigmas * np.sqrt(len(layers))
    )


def lift_set(
    directions: DirectionSet, generator: StyleGenerator, layers: str | Sequence[int]
) -> DirectionSet:
    """A W set applied to ``layers`` only: the same directions as a W+ set."""
    g = _check_style(generator)
    if directions.latent_space != "w":
        raise LatentError(
            f"only W direction sets can be lifted to a layer range, not {directions.latent_space!r}"
        )
    directions.check_compatible(g.in_space("w"))
    idx = layer_range(layers, g.num_ws)
    sig = directions.sigmas
    return _pack(
        g.in_space("w+"),
        directions.directions,
        sig,
        directions.scores,
        idx,
        directions.method,
        {**directions.params, "lifted_from": "w"},
    )


def ganspace_w(
    generator: StyleGenerator,
    k: int = 10,
    n_samples: int = 20_000,
    layers: str | Sequence[int] | None = None,
    seed: int = 0,
) -> DirectionSet:
    """GANSpace in W: principal components of mapped samples, applied to ``layers``.

    Parameters
    ----------
    generator
        A :class:`~latentviz.models.style.StyleGenerator` (any space).
    k
        Number of components.
    n_samples
        w samples (one batched mapping pass).
    layers
        ``"coarse"``, ``"middle"``, ``"fine"``, ``"a:b"``, indices or ``None`` (all).
    seed
        Seed of the z samples.

    Returns
    -------
    DirectionSet
        In ``"w"`` for all layers, ``"w+"`` for a range; scores are explained-variance
        ratios, sigmas one standard deviation of each component.
    """
    g = _check_style(generator)
    idx = layer_range(layers, g.num_ws)
    w = g.in_space("w").sample_latents(int(n_samples), seed=seed, truncation=1.0)
    fit = fit_pca(w, k, "auto", 4096, seed=seed)
    sig = np.sqrt(np.clip(fit.explained_variance, 1e-12, None))
    return _pack(
        g,
        fit.components,
        sig,
        fit.explained_variance_ratio,
        idx,
        "ganspace-w",
        {"n_samples": int(n_samples), "seed": seed, "k": k},
    )


def _conv_layers_for(g: StyleGenerator, idx: tuple[int, ...]) -> list[torch.nn.Module]:
    """The modulated convolutions (not toRGB) driven by the styles ``idx``."""
    m = g.module
    uses = m._style_uses()
    rgb = {id(m.to_rgb1.conv)} | {id(t.conv) for t in m.to_rgbs}
    return [conv for conv, i in uses if i in idx and id(conv) not in rgb]


def sefa_style(
    generator: StyleGenerator,
    k: int | None = 10,
    layers: str | Sequence[int] | None = None,
    normalize: bool = True,
) -> DirectionSet:
    """SeFa on the style affine weights of the convolutions that ``layers`` drive.

    Returns
    -------
    DirectionSet
        Eigenvectors of ``AᵀA`` (scores: eigenvalues) in ``"w"`` or lifted into ``"w+"``.
    """
    g = _check_style(generator)
    idx = layer_range(layers, g.num_ws)
    convs = _conv_layers_for(g, idx)
    if not convs:
        raise LatentError(f"style layers {list(idx)} drive no convolution (only toRGB); widen the range")
    # modulation.weight is (channels, w_dim); the run-time scale does not change directions.
    weight = torch.cat([c.modulation.weight.detach() for c in convs], 0)
    values, vectors = sefa_eigen(weight, normalize)
    k = g.w_dim if k is None else int(k)
    if not 1 <= k <= g.w_dim:
        raise LatentError(f"k must be between 1 and w_dim = {g.w_dim}, got {k}")
    sig = np.ones(k)
    return _pack(
        g,
        vectors[:k],
        sig,
        values[:k],
        idx,
        "sefa-style",
        {"normalize": normalize, "weight_shape": list(weight.shape), "k": k},
    )


def attfind(
    generator: StyleGenerator,
    classifier: object,
    target: int | None = None,
    k: int = 10,
    latents: torch.Tensor | None = None,
    n_images: int = 16,
    shift: float = 3.0,
    candidates: int | None = 64,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> DirectionSet:
    """StyleSpace coordinates that move the classifier most (StylEx's AttFind).

    Each coordinate ``c`` is shifted by ``±shift · σ_c`` (σ over 2000 samples) on every
    image, the change of the classifier's ``target`` probability is averaged, and the
    sign that raises it is kept. A first-order pass (one gradient) preselects
    ``candidates`` coordinates for the exact shifted renders (``None``: render all). The
    classifier sees every render clamped to [-1, 1], the image range it was trained on.

    Parameters
    ----------
    generator
        A style-based generator (any space; ``latents`` are in its space).
    classifier
        A :class:`latentviz.models.Classifier`.
    target
        Class whose probability is raised (default: the classifier's).
    k
        Coordinates to return.
    latents
        The images' latents; default ``n_images`` samples.
    shift
        Size of the shift in standard deviations of each coordinate.

    Returns
    -------
    DirectionSet
        One-hot directions in ``"s"`` with ``sigmas = σ_c`` and ``scores`` the mean rise in
        probability; ``params`` hold each coordinate's block, channel and per-image effects.
    """
    g = _check_style(generator)
    gs = g.in_space("s")
    with torch.no_grad():
        sd = gs.sample_latents(2000, seed=seed + 1).std(0).clamp_min(1e-6)
        s0 = gs.sample_latents(n_images, seed=seed) if latents is None else torch.cat(g.styles(latents), 1)
    n, dim = s0.shape
    # First-order pass: d p / d s_c · σ_c ranks every coordinate with one backward.
    with torch.enable_grad():
        s = s0.clone().requires_grad_(True)
        p = classifier.probability(gs(s).clamp(-1, 1), target)
        (grad,) = torch.autograd.grad(p.sum(), s)
    est = (grad * sd).mean(0).abs()
    pool = (
        torch.arange(dim) if candidates is None else est.argsort(descending=True)[: max(k, int(candidates))]
    )
    with torch.no_grad():
        base = classifier.probability(gs(s0).clamp(-1, 1), target)
        effects = torch.empty(len(pool), 2, n)
        rows = [(j, sign) for j in range(len(pool)) for sign in (0, 1)]
        per = max(1, batch_size // n)
        for start in tqdm(range(0, len(rows), per), desc="attfind", disable=not progress):
            chunk = rows[start : start + per]
            shifted = s0.repeat(len(chunk), 1)
            for r, (j, sign) in enumerate(chunk):
                c = int(pool[j])
                shifted[r * n : (r + 1) * n, c] += (1 if sign == 0 else -1) * shift * sd[c]
            pr = classifier.probability(gs(shifted).clamp(-1, 1), target).view(len(chunk), n) - base
            for r, (j, sign) in enumerate(chunk):
                effects[j, sign] = pr[r].cpu()
    mean = effects.mean(2)  # (pool, 2)
    best_sign = mean.argmax(1)
    score = mean.max(1).values
    order = score.argsort(descending=True)[:k]
    names_all = gs.style_channel_names()
    vectors = np.zeros((len(order), dim))
    chosen, names, sigmas, per_image = [], [], [], []
    for i, o in enumerate(order.tolist()):
        c, sign = int(pool[o]), 1.0 if int(best_sign[o]) == 0 else -1.0
        vectors[i, c] = sign
        chosen.append({"coordinate": c, "sign": sign})
        names.append(f"{names_all[c]} {'+' if sign > 0 else '−'}")
        sigmas.append(float(sd[c]))
        per_image.append(effects[o, int(best_sign[o])].tolist())
    return DirectionSet(
        vectors,
        names,
        score[order].numpy().astype(float),
        "attfind",
        {
            "target": target,
            "shift_sd": shift,
            "n_images": n,
            "candidates": None if candidates is None else len(pool),
            "coordinates": chosen,
            "per_image_effect": per_image,
            "base_probability_mean": float(base.mean()),
        },
        g.sha256,
        "s",
        sigmas=np.asarray(sigmas),
    )


#: Names :func:`discover_style` takes (the flat-latent names map to their style form).
STYLE_METHODS = {
    "sefa": "sefa-style",
    "sefa-style": "sefa-style",
    "ganspace": "ganspace-w",
    "ganspace-w": "ganspace-w",
    "attfind": "attfind",
}


def discover_style(
    generator: StyleGenerator,
    method: str = "sefa",
    k: int = 6,
    layers: str | Sequence[int] | None = None,
    classifier: object | None = None,
    **options: object,
) -> DirectionSet:
    """Run a style-based discovery method by name (``sefa``, ``ganspace``, ``attfind``).

    Raises
    ------
    LatentError
        For a name this family has no method for, or AttFind without a classifier.
    """
    g = _check_style(generator)
    name = STYLE_METHODS.get(method)
    if name is None:
        raise LatentError(f"no style-based method {method!r}; choose one of {sorted(set(STYLE_METHODS))}")
    if name == "sefa-style":
        return sefa_style(g, k=k, layers=layers)
    if name == "ganspace-w":
        n = int(options.get("n_samples", 20_000))
        return ganspace_w(g, k=k, n_samples=n, layers=layers)
    if classifier is None:
        raise LatentError("attfind ranks StyleSpace channels by a classifier's output; pass classifier=")
    return attfind(g, classifier, k=k, progress=bool(options.get("progress", False)))


LAYER_CHOICES = ("all", "coarse", "middle", "fine")


@dataclass
class _LayerOptions(MethodOptions):
    k: int = option(6, "directions", "directions kept", bound=Bound(1, 512))
    layers: str = option("all", "style layers", "the style layers the directions move", choices=LAYER_CHOICES)


@register_method
class SeFaStyle(DirectionMethod):
    """SeFa on StyleGAN: eigenvectors of the stacked style affine weights of a layer range."""

    name = "sefa-style"
    label = "SeFa on style weights (Shen & Zhou 2021)"
    order = 60
    summary = "closed form on the style affine weights of the chosen layers (style-based models)"
    needs = frozenset({STYLE})
    interactive = True
    evaluated_by_default = False
    Options = _LayerOptions

    def run(self, generator: Any, options: Any, inputs: DiscoveryInputs) -> DirectionSet:
        return sefa_style(generator, k=min(options.k, generator.w_dim), layers=options.layers)


@register_method
class GANSpaceW(DirectionMethod):
    """GANSpace on StyleGAN: PCA of w samples, applied to a layer range."""

    name = "ganspace-w"
    label = "GANSpace in W (Härkönen et al. 2020)"
    order = 61
    summary = "PCA of mapped w samples, edits on the chosen style layers (style-based models)"
    needs = frozenset({STYLE})
    interactive = True
    evaluated_by_default = False

    @dataclass
    class Options(_LayerOptions):
        n_samples: int = option(20_000, "samples", "w samples of the PCA", bound=Bound(100, 1_000_000))

    quick = MappingProxyType({"n_samples": 5000})

    def run(self, generator: Any, options: Any, inputs: DiscoveryInputs) -> DirectionSet:
        k = min(options.k, generator.w_dim)
        return ganspace_w(generator, k=k, n_samples=options.n_samples, layers=options.layers)


@register_method
class AttFind(DirectionMethod):
    """StylEx's AttFind: the StyleSpace coordinates that move the classifier most."""

    name = "attfind"
    label = "AttFind in StyleSpace (Lang et al. 2021)"
    order = 62
    summary = "StyleSpace channels ranked by their effect on the classifier (style-based models)"
    needs = frozenset({STYLE, CLASSIFIER})
    evaluated_by_default = False

    @dataclass
    class Options(MethodOptions):
        k: int = option(6, "directions", "coordinates kept", bound=Bound(1, 512))
        n_images: int = option(16, "images", "images the effects are averaged over", bound=Bound(1, 4096))
        shift: float = option(3.0, "shift (σ)", "shift of each coordinate, in its σ", interval=(0.1, 20.0))
        candidates: int = option(
            64, "candidates", "coordinates rendered after the gradient preselection", bound=Bound(1, 100_000)
        )
        seed: int = option(0, "seed", "seed of the sampled images", bound=Bound(0, 2**32 - 1))

    def run(self, generator: Any, options: Any, inputs: DiscoveryInputs) -> DirectionSet:
        return attfind(
            generator,
            inputs.classifier,
            k=options.k,
            n_images=options.n_images,
            shift=options.shift,
            candidates=options.candidates,
            seed=options.seed,
            progress=False,
        )
