"""Latent Integrated Gradients (LIG) along the medXGAN path x(α) = G(z1*, α z2*).

Two named variants, computed from ONE batch of path images (REFERENCES §1):

``"path"`` (default, completeness-preserving)
    ``A = Σ_i ∇f(x_i) ⊙ (x_{i+1} − x_i)`` over ``α_i = i / n_steps`` with a FIXED target
    ``f`` (the target probability); the trapezoid rule averages the gradients at both ends
    of each step. Σ A ≈ f(x_pos) − f(x_neg), and ``delta = Σ A − (f(x_pos) − f(x_neg))``
    is reported as captum's convergence delta is.
``"paper"`` (the medXGAN public code, for comparison)
    11 points ``α = 0.1 i``; at each the gradient of the probability of the ARGMAX class,
    summed, times ``(x_pos − x_neg) / 11``. It breaks completeness (its delta is reported too)
    and its target can change along the path.
``"both"``
    The path map as ``.map`` and the paper map in ``extras["paper_map"]``, one pass.
"""

from __future__ import annotations

import time
from typing import Literal

import torch

from latentviz.errors import ShapeError
from latentviz.explain.attribution import Attribution
from latentviz.explain.inversion import InversionResult
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["LatentIntegratedGradients", "latent_integrated_gradients"]

PAPER_ALPHAS = tuple(0.1 * i for i in range(11))


def _path_gradients(
    generator: Generator,
    classifier: Classifier,
    latents: torch.Tensor,
    internal_batch_size: int | None,
    argmax_rows: torch.Tensor,
    target: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images, gradients of each row's objective, target probabilities and argmax classes.

    Rows flagged in ``argmax_rows`` differentiate the probability of their own argmax class
    (the paper's variant); the others the fixed ``target``. Chunked by ``internal_batch_size``.
    """
    m = latents.shape[0]
    bs = m if internal_batch_size is None else max(1, int(internal_batch_size))
    imgs, grads, probs, argmax = [], [], [], []
    for s in range(0, m, bs):
        with torch.no_grad():
            x = generator(latents[s : s + bs])
        x.requires_grad_(True)
        with torch.enable_grad():
            p = classifier.probabilities(x)
            am = p.detach().argmax(1)
            cls = torch.where(argmax_rows[s : s + bs], am, torch.full_like(am, target))
            obj = p.gather(1, cls.unsqueeze(1)).sum()
            (g,) = torch.autograd.grad(obj, x)
        imgs.append(x.detach())
        grads.append(g)
        probs.append(p.detach()[:, target])
        argmax.append(am)
    return torch.cat(imgs), torch.cat(grads), torch.cat(probs), torch.cat(argmax)


class LatentIntegratedGradients:
    """Latent Integrated Gradients of a classifier along a conditional generator's z2 path.

    Parameters
    ----------
    generator
        A conditional (z1, z2) generator (``split_sizes`` set), z2 = 0 the negative class.
    classifier
        The classifier to explain.

    Examples
    --------
    >>> lig = LatentIntegratedGradients(generator, classifier)  # doctest: +SKIP
    >>> a = lig.attribute(inversion.z, target=1, n_steps=32)  # doctest: +SKIP
    >>> a.map.shape, a.delta  # doctest: +SKIP
    """

    def __init__(self, generator: Generator, classifier: Classifier) -> None:
        if not generator.is_conditional:
            raise ShapeError(
                f"LatentIntegratedGradients needs a conditional (z1, z2) generator; {generator.name} is not"
            )
        self.generator = generator
        self.classifier = classifier

    def attribute(
        self,
        inputs: torch.Tensor | InversionResult,
        target: int | None = None,
        n_steps: int = 32,
        internal_batch_size: int | None = None,
        variant: Literal["path", "paper", "both"] = "path",
        method: Literal["trapezoid", "riemann_left"] = "trapezoid",
    ) -> Attribution:
        """Attribute ``f(G(z1, z2)) − f(G(z1, 0))`` to pixels along the z2 path.

        Parameters
        ----------
        inputs
            ``(N, D)`` latents (e.g. from :func:`~latentviz.explain.invert`) or an
            :class:`~latentviz.explain.InversionResult`, whose fidelity the result carries.
        target
            Class whose probability is ``f`` (default: the classifier's target).
        n_steps
            Steps of the path sum (``"path"``; ``n_steps + 1`` images per latent).
        internal_batch_size
            Path images per classifier forward/backward (``None``: all at once).
        variant
            ``"path"``, ``"paper"`` or ``"both"`` (see the module docstring).
        method
            ``"trapezoid"`` or ``"riemann_left"`` for the path sum.

        Returns
        -------
        Attribution
            ``map`` ``(N, C, H, W)``, ``delta`` ``(N,)``; ``extras`` holds the endpoint
            probabilities, the target probability along the path and, for ``"both"``, the
            paper map and delta.
        """
        t0 = time.perf_counter()
        if variant not in ("path", "paper", "both"):
            raise ValueError(f"variant must be 'path', 'paper' or 'both', not {variant!r}")
        if method not in ("trapezoid", "riemann_left"):
            raise ValueError(f"method must be 'trapezoid' or 'riemann_left', not {method!r}")
        if n_steps < 1:
            raise ValueError("n_steps must be >= 1")
        extras: dict = {}
        if isinstance(inputs, InversionResult):
            extras["fidelity"] = inputs.fidelity()
            extras["low_fidelity"] = inputs.low_fidelity.clone()
            inputs = inputs.z
        g = self.generator
        z = g.check_latents(inputs)
        t = self.classifier.target if target is None else int(target)
        n = z.shape[0]
        z1, z2 = g.split(z)

        dev = z.device
        path_a = (
            torch.linspace(0, 1, n_steps + 1, device=dev)
            if variant != "paper"
            else torch.empty(0, device=dev)
        )
        paper_a = torch.tensor(PAPER_ALPHAS, device=dev) if variant != "path" else torch.empty(0, device=dev)
        alphas = torch.cat([path_a, paper_a])
        a_n = alphas.numel()
        # (N, A, D) latents, image-major, flattened into one batch.
        lat = g.join(
            z1.unsqueeze(1).expand(-1, a_n, -1).reshape(n * a_n, -1),
            (alphas.view(1, -1, 1) * z2.unsqueeze(1)).reshape(n * a_n, -1),
        )
        argmax_rows = torch.cat(
            [torch.zeros(path_a.numel(), dtype=torch.bool), torch.ones(paper_a.numel(), dtype=torch.bool)]
        ).to(dev)
        x, grad, prob, am = _path_gradients(
            g, self.classifier, lat, internal_batch_size, argmax_rows.repeat(n), t
        )
        shape = x.shape[1:]
        x = x.view(n, a_n, *shape)
        grad = grad.view(n, a_n, *shape)
        prob = prob.view(n, a_n)
        am = am.view(n, a_n)

        # Every variant's alphas run from 0 (x_neg) to 1 (x_pos).
        p_pos, p_neg = prob[:, a_n - 1], prob[:, 0]
        extras.update(probability_positive=p_pos.cpu(), probability_negative=p_neg.cpu())

        maps: dict[str, torch.Tensor] = {}
        deltas: dict[str, torch.Tensor] = {}
        k = path_a.numel()
        if variant != "paper":
            xs, gs = x[:, :k], grad[:, :k]
            dx = xs[:, 1:] - xs[:, :-1]
            gm = 0.5 * (gs[:, 1:] + gs[:, :-1]) if method == "trapezoid" else gs[:, :-1]
            maps["path"] = (gm * dx).sum(1)
            extras["alphas"] = path_a.cpu()
            extras["path_probability"] = prob[:, :k].cpu()
        if variant != "path":
            xp, gp = x[:, k:], grad[:, k:]
            maps["paper"] = gp.sum(1) * (xp[:, -1] - xp[:, 0]) / len(PAPER_ALPHAS)
            extras["paper_argmax"] = am[:, k:].cpu()
        for name, mp in maps.items():
            deltas[name] = (mp.flatten(1).sum(1) - (p_pos - p_neg)).cpu()

        main = "paper" if variant == "paper" else "path"
        if variant == "both":
            extras["paper_map"] = maps["paper"].cpu()
            extras["paper_delta"] = deltas["paper"]
        return Attribution(
            map=maps[main].cpu(),
            method=f"lig_{main}",
            options={
                "target": t,
                "n_steps": n_steps,
                "internal_batch_size": internal_batch_size,
                "variant": variant,
                "method": method,
            },
            delta=deltas[main],
            seconds=time.perf_counter() - t0,
            extras=extras,
        )


def latent_integrated_gradients(
    generator: Generator, classifier: Classifier, z: torch.Tensor | InversionResult, **options
) -> Attribution:
    """Functional form of :class:`LatentIntegratedGradients` (``options`` go to ``attribute``)."""
    return LatentIntegratedGradients(generator, classifier).attribute(z, **options)
