"""Counterfactual explanations with a style-based autoencoder, as registry entries.

Both methods encode the images (optionally refined by the batched inversion), then walk
each code along one path towards the other class until the classifier's probability
crosses ``threshold`` (:func:`~latentviz.explain.style_counterfactual.walk_batch`):

``path="attfind"`` (StylEx; Lang et al. 2021)
    the sum of the classifier's top ``n_attributes`` StyleSpace coordinates found by
    :func:`~latentviz.directions.style.attfind` (each in its σ), in ``s``;
``path="centroid"`` (SEE-GAAN; Schutte et al. 2021)
    the low→high centroid step of the CNN's prediction over ``path_images`` generated
    samples stratified in two halves at the median probability, in the encoder's space.

``style_cf`` maps the difference between the positive and the negative end of the walk
(as medXGAN's ``G(z*) − G(z1*, 0)``); ``style_lig`` integrates the classifier's gradient
along the walk (trapezoid rule, ``lig_steps`` uniform steps from the negative end to the
positive one), so that ``Σ map ≈ f(x_pos) − f(x_neg)``; ``delta`` is that gap.

Every result says whether it can be trusted: ``extras["flipped"]`` (False: no frame
crossed the threshold, so the map is not a counterfactual explanation) and
``extras["low_fidelity"]`` (the reconstruction failed the gates of
:data:`~latentviz.explain.inversion.FIDELITY_THRESHOLDS`), each per image.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, ClassVar

import torch

from latentviz.bounds import Bound, RealBound
from latentviz.directions.centroid import centroid_path
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.style import attfind
from latentviz.errors import ShapeError
from latentviz.explain.attribution import Attribution, check_images
from latentviz.explain.inversion import fidelity_report, invert
from latentviz.explain.registry import Explainer, Option, option
from latentviz.explain.style_counterfactual import walk_batch
from latentviz.models.classifier import Classifier

__all__ = ["StyleCounterfactualMap", "StylePathLIG", "is_style_autoencoder", "walk_directions"]

PATHS = ("attfind", "centroid")

# Paths depend on the classifier and the generator only: computed once per pair (the
# evaluation explains clean, noisy and blurred copies with the same models).
_PATHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The last walk of each input batch: style_cf and style_lig asked for the same images with
# the same walk options (one pipeline call) share one refinement and one walk. Keyed by the
# images' id; an entry is dropped as soon as its images are freed, so no walk outlives them.
_WALKS: dict[int, tuple[tuple, Any]] = {}


def is_style_autoencoder(g: Any) -> bool:
    """Whether ``g`` is a style-based generator with an encoder."""
    return g is not None and hasattr(g, "style_dims") and bool(getattr(g, "has_encoder", False))


def walk_directions(
    generator: Any,
    classifier: Classifier,
    target: int,
    path: str = "attfind",
    n_attributes: int = 4,
    path_images: int = 16,
    seed: int = 0,
) -> DirectionSet:
    """The direction set a style walk follows (cached per classifier and options).

    Parameters
    ----------
    generator
        A style-based generator (any space; the set is in ``s`` for AttFind, in the
        generator's encoder space for the centroid path).
    path
        ``"attfind"`` or ``"centroid"``.
    n_attributes
        AttFind coordinates summed into the path.
    path_images
        Generated samples AttFind ranks on / the centroid path strata are made of.
    """
    key = (generator.sha256, generator.latent_space, target, path, n_attributes, path_images, seed)
    per_clf = _PATHS.setdefault(classifier, {})
    if key in per_clf:
        return per_clf[key]
    if path == "attfind":
        ds = attfind(
            generator.in_space("s"),
            classifier,
            target=target,
            k=n_attributes,
            n_images=path_images,
            seed=seed,
            progress=False,
        )
    else:
        with torch.no_grad():
            lat = generator.sample_latents(path_images, seed=seed)
            p = classifier.probability(generator(lat).clamp(-1, 1), target)
        # two strata: the first direction is the low→high step between their centroids
        ds = centroid_path(
            generator, lat, p, n_strata=2, feature="classifier probability", latent_source="given"
        )
    per_clf[key] = ds
    return ds


class _StyleWalk(Explainer):
    """Shared part of the two style-walk methods (not registered)."""

    needs = frozenset({"autoencoder"})
    options: ClassVar[dict[str, Option]] = {
        "path": option("attfind", "path", "what the walk follows", choices=PATHS),
        "n_attributes": option(4, "attributes", "AttFind coordinates summed into the path", Bound(1, 64)),
        "path_images": option(16, "path images", "generated samples the path is found on", Bound(4, 4096)),
        "max_amount": option(
            10.0,
            "walk range",
            "largest step along the path (σ of each attribute; centroid steps)",
            RealBound(0.0, 1000.0),
        ),
        "n_steps": option(16, "walk steps", "strengths of each search pass (two passes)", Bound(2, 256)),
        "threshold": option(0.5, "flip threshold", "probability the walk must cross", RealBound(0.0, 1.0)),
        "refine_steps": option(
            200, "refine steps", "inversion steps after the encoder (0: the encoder's code)", Bound(0, 5000)
        ),
    }

    @classmethod
    def missing(cls, generator: Any = None, autoencoder: Any = None) -> str | None:
        if not is_style_autoencoder(autoencoder):
            return "a style-based generator with an encoder (a gaan model such as cxr-gaan)"
        return None

    @classmethod
    def build(cls, classifier: Classifier, *, generator: Any = None, autoencoder: Any = None) -> _StyleWalk:
        return cls(autoencoder, classifier)

    def __init__(self, generator: Any, classifier: Classifier) -> None:
        if not is_style_autoencoder(generator):
            raise ShapeError(
                f"{type(self).__name__} needs a style-based generator with an encoder; "
                f"{getattr(generator, 'name', generator)!r} is not one"
            )
        self.generator = generator
        self.classifier = classifier

    def _codes(
        self, x: torch.Tensor, space: str, target: int, refine_steps: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The images' codes in ``space`` and the fidelity report of their reconstruction."""
        g = self.generator.in_space("w+")
        if refine_steps > 0:
            inv = invert(
                g,
                self.classifier,
                x,
                target=target,
                init="encoder",
                steps=refine_steps,
                restarts=1,
                refine=None,
                progress=False,
            )
            wplus = inv.z.to(g.device)
        else:
            with torch.no_grad():
                wplus = g.encode(x)
        gs = self.generator.in_space(space)
        with torch.no_grad():
            recon = g(wplus).clamp(-1, 1)
            codes = (
                torch.cat(g.styles(wplus), 1)
                if space == "s"
                else gs.check_latents(
                    wplus if space == "w+" else wplus.view(len(x), g.num_ws, g.w_dim).mean(1)
                )
            )
        return codes, fidelity_report(self.classifier, x, recon, target)

    def _walk(self, inputs: torch.Tensor, target: int | None, opts: dict) -> tuple[Any, dict, dict]:
        check_images(inputs)
        clf = self.classifier
        t = clf.resolve_target(target, per_sample=False)
        # the tensor's version counter: an in-place change of the images is a new batch
        key = (id(self.generator), id(clf), t, inputs._version, tuple(sorted(opts.items())))
        last = _WALKS.get(id(inputs))
        if last is not None and last[0] == key:
            w, extras, used = last[1]
            return w, dict(extras), dict(used)
        out = self._compute_walk(inputs, t, opts)
        if id(inputs) not in _WALKS:
            weakref.finalize(inputs, _WALKS.pop, id(inputs), None)
        _WALKS[id(inputs)] = (key, out)
        w, extras, used = out
        return w, dict(extras), dict(used)

    def _compute_walk(self, inputs: torch.Tensor, t: int, opts: dict) -> tuple[Any, dict, dict]:
        clf = self.classifier
        x = inputs.to(self.generator.device)
        ds = walk_directions(self.generator, clf, t, opts["path"], opts["n_attributes"], opts["path_images"])
        codes, fid = self._codes(x, ds.latent_space, t, opts["refine_steps"])
        w = walk_batch(
            self.generator.in_space(ds.latent_space),
            clf,
            ds,
            codes,
            target=t,
            max_amount=opts["max_amount"],
            n_steps=opts["n_steps"],
            threshold=opts["threshold"],
            keys=[0] if ds.method == "centroid" else None,
        )
        extras = {
            "flipped": w.flipped.clone(),
            "low_fidelity": fid["low_fidelity"].clone(),
            "reconstruction_psnr": fid["psnr"],
            "reconstruction_ssim": fid["ssim"],
            "probability_start": w.probability_start,
            "probability_end": w.probability_end,
            "amount": w.amount,
            "counterfactual": w.end.cpu(),
            "reconstruction": w.start.cpu(),
            "latent_start": w.latent_start.cpu(),
            "latent_end": w.latent_end.cpu(),
            "path": [str(n) for n in ds.names][:1] if ds.method == "centroid" else [str(n) for n in ds.names],
        }
        return w, extras, {**opts, "target": t, "space": ds.latent_space}


class StyleCounterfactualMap(_StyleWalk):
    """The style walk's counterfactual difference, positive end − negative end."""

    name = "style_cf"
    key = "style_cf"
    label = "style counterfactual"

    def attribute(self, inputs: torch.Tensor, target: int | None = None, **options: Any) -> Attribution:
        """``(N, C, H, W)`` signed difference maps (see the module doc for ``extras``)."""
        t0 = time.perf_counter()
        opts = self.resolve(options)
        w, extras, used = self._walk(inputs, target, opts)
        return Attribution(
            (w.positive_end - w.negative_end).cpu(),
            self.key,
            used,
            seconds=time.perf_counter() - t0,
            extras=extras,
        )


class StylePathLIG(_StyleWalk):
    """Integrated gradients of the classifier along the style walk (negative → positive)."""

    name = "style_lig"
    key = "style_lig"
    label = "style-path LIG"
    options: ClassVar[dict[str, Option]] = {
        **_StyleWalk.options,
        "lig_steps": option(32, "LIG steps", "uniform steps of the path integral", Bound(1, 1024)),
        "internal_batch_size": option(None, "batch", "images per gradient pass", Bound(1, 4096)),
    }

    def attribute(self, inputs: torch.Tensor, target: int | None = None, **options: Any) -> Attribution:
        """``(N, C, H, W)`` path attributions with ``delta`` = ``Σ map − (f(x_pos) − f(x_neg))``."""
        t0 = time.perf_counter()
        opts = self.resolve(options)
        lig_steps, ibs = opts.pop("lig_steps"), opts.pop("internal_batch_size")
        w, extras, used = self._walk(inputs, target, opts)
        g = self.generator.in_space(used["space"])
        n = w.latent_start.shape[0]
        alpha = torch.linspace(0.0, 1.0, lig_steps + 1, device=w.latent_start.device)
        # from the negative end (alpha 0) to the positive one (alpha 1)
        neg, pos = w.latent_negative, w.latent_positive
        lat = neg[:, None] + alpha[None, :, None] * (pos - neg)[:, None]
        lat = lat.flatten(0, 1)
        bs = len(lat) if ibs is None else int(ibs)
        imgs, grads, probs = [], [], []
        for s in range(0, len(lat), bs):
            with torch.no_grad():
                xi = g(lat[s : s + bs]).clamp(-1, 1)
            xi.requires_grad_(True)
            with torch.enable_grad():
                p = self.classifier.probability(xi, used["target"])
                (gr,) = torch.autograd.grad(p.sum(), xi)
            imgs.append(xi.detach())
            grads.append(gr)
            probs.append(p.detach())
        x = torch.cat(imgs).view(n, lig_steps + 1, *imgs[0].shape[1:])
        gr = torch.cat(grads).view_as(x)
        p = torch.cat(probs).view(n, lig_steps + 1)
        attr = (0.5 * (gr[:, 1:] + gr[:, :-1]) * (x[:, 1:] - x[:, :-1])).sum(1)
        delta = attr.flatten(1).sum(1) - (p[:, -1] - p[:, 0])
        extras["path_probability"] = p.cpu()
        return Attribution(
            attr.cpu(),
            self.key,
            {**used, "lig_steps": lig_steps},
            delta=delta.cpu(),
            seconds=time.perf_counter() - t0,
            extras=extras,
        )
