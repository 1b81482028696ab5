"""Latent inversion of real images into a generator (medXGAN §3.3, REFERENCES §1).

The loss is the paper's: ``bce_weight · BCE(p(G(z)), p(x)) + mse_weight · MSE(G(z), x)``
(weights 1 and 4 in the paper), where ``p`` is the classifier's probability vector.
latentviz optimises ``R`` restarts per image as ONE batch of ``N·R`` latents with Adam,
stops each restart early when its loss stalls, when an image reaches its ``target_mse``
(one or one per image) or, with ``plateau_db``, when its PSNR stops rising. It can prune
to the best restart per image after a few steps, starts from the encoder where the
generator has one, then polishes the best latent of each image with L-BFGS. The Adam loop
reads the device back to the host only every :func:`sync_interval` steps, and
``trace=True`` records time-to-PSNR curves.
:func:`invert_paper` is the public code's reference procedure
(one start at ``z1 = 0, z2 ~ N(0, I)``, 5000 Adam steps at lr 0.01), kept for the benchmark.

Every result reports its fidelity (MSE, PSNR, SSIM, classifier agreement) and a
``low_fidelity`` flag (thresholds in :data:`FIDELITY_THRESHOLDS`) that downstream
explanations carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from latentviz.bounds import (
    INVERT_PLATEAU_DB,
    INVERT_PLATEAU_WINDOW,
    INVERT_REFINE_EVALS,
    INVERT_RESTARTS,
    INVERT_STEPS,
)
from latentviz.errors import ArgumentError, ShapeError
from latentviz.explain.attribution import check_images
from latentviz.explain.fidelity import mse, psnr, ssim
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["FIDELITY_THRESHOLDS", "InversionResult", "fidelity_report", "invert", "invert_paper"]

#: An inversion is flagged ``low_fidelity`` when ANY of these fails: PSNR below ``min_psnr``
#: dB (images in [-1, 1], so 20 dB = MSE 0.04), SSIM below ``min_ssim``, the classifier's
#: predicted class on G(z*) differs from that on x, or its target probability differs by
#: more than ``max_probability_gap``.
FIDELITY_THRESHOLDS: dict[str, float] = {"min_psnr": 20.0, "min_ssim": 0.5, "max_probability_gap": 0.25}

Init = Literal["auto", "encoder", "paper", "random"]


@dataclass
class InversionResult:
    """The best latent per image and how faithful its reconstruction is.

    All tensors are on the CPU; per-image ones have shape ``(N,)``.

    Attributes
    ----------
    z
        ``(N, D)`` best latent per image.
    reconstruction
        ``(N, C, H, W)`` G(z).
    original
        The images that were inverted.
    probability_original, probability_reconstruction
        The classifier's target probability on x and on G(z).
    mse, psnr, ssim
        Reconstruction fidelity.
    agrees
        The classifier predicts the same class on x and G(z).
    low_fidelity
        Any threshold of :data:`FIDELITY_THRESHOLDS` failed: explanations built on this
        latent must say so.
    loss
        Final (best) loss per image.
    steps
        Optimisation steps the chosen restart ran.
    restart
        Index of the chosen restart.
    history
        ``(T,)`` mean over images of the best loss so far, one value per step.
    seconds
        Wall time.
    options
        The options it ran with.
    trace
        With ``trace=True``: ``{"seconds": (T,), "mse": (T, N), "psnr": (T, N),
        "phase": [...]}``, each image's best MSE (and PSNR) after every Adam step and
        L-BFGS evaluation of the chosen restart set, and the wall time since the start.
    """

    z: torch.Tensor
    reconstruction: torch.Tensor
    original: torch.Tensor
    probability_original: torch.Tensor
    probability_reconstruction: torch.Tensor
    mse: torch.Tensor
    psnr: torch.Tensor
    ssim: torch.Tensor
    agrees: torch.Tensor
    low_fidelity: torch.Tensor
    loss: torch.Tensor
    steps: torch.Tensor
    restart: torch.Tensor
    history: torch.Tensor
    seconds: float
    options: dict = field(default_factory=dict)
    trace: dict | None = None

    def fidelity(self) -> dict:
        """Per-image fidelity as plain lists (for JSON and ``Attribution.extras``)."""
        return {
            "mse": self.mse.tolist(),
            "psnr": self.psnr.tolist(),
            "ssim": self.ssim.tolist(),
            "probability_original": self.probability_original.tolist(),
            "probability_reconstruction": self.probability_reconstruction.tolist(),
            "agrees": self.agrees.tolist(),
            "low_fidelity": self.low_fidelity.tolist(),
            "thresholds": dict(FIDELITY_THRESHOLDS),
        }

    def __repr__(self) -> str:
        return (
            f"InversionResult(n={len(self.z)}, mse={self.mse.mean():.4f}, psnr={self.psnr.mean():.1f} dB, "
            f"ssim={self.ssim.mean():.3f}, agree={self.agrees.float().mean():.2f}, "
            f"low_fidelity={int(self.low_fidelity.sum())}, {self.seconds:.2f} s)"
        )


def fidelity_report(
    classifier: Classifier, x: torch.Tensor, reconstruction: torch.Tensor, target: int | None = None
) -> dict[str, torch.Tensor]:
    """MSE, PSNR, SSIM, probabilities, agreement and the ``low_fidelity`` flag of a reconstruction."""
    with torch.no_grad():
        px = classifier.probabilities(x)
        pr = classifier.probabilities(reconstruction)
    t = classifier.resolve_target(target, n_classes=px.shape[1], per_sample=False)
    rep = {
        "mse": mse(reconstruction, x),
        "psnr": psnr(reconstruction, x),
        "ssim": ssim(reconstruction, x),
        "probability_original": px[:, t],
        "probability_reconstruction": pr[:, t],
        "agrees": px.argmax(1) == pr.argmax(1),
    }
    th = FIDELITY_THRESHOLDS
    rep["low_fidelity"] = (
        (rep["psnr"] < th["min_psnr"])
        | (rep["ssim"] < th["min_ssim"])
        | ~rep["agrees"]
        | (
            (rep["probability_original"] - rep["probability_reconstruction"]).abs()
            > th["max_probability_gap"]
        )
    )
    return {k: v.detach().cpu() for k, v in rep.items()}


def _per_image_goal(target_mse, n: int, device: torch.device) -> torch.Tensor | None:
    """``target_mse`` as an ``(N,)`` tensor (one number for every image, or one each)."""
    if target_mse is None:
        return None
    goal = torch.as_tensor(target_mse, dtype=torch.float32).reshape(-1)
    if goal.numel() == 1:
        goal = goal.expand(n)
    if goal.numel() != n or not torch.isfinite(goal).all() or (goal < 0).any():
        raise ArgumentError(
            f"target_mse must be one finite MSE >= 0 or one per image ({n}), got {goal.numel()} values"
        )
    return goal.to(device)


def _trace_dict(mse_rows: list[torch.Tensor], seconds: list[float], n_adam: int) -> dict:
    mse_t = torch.stack(mse_rows).cpu() if mse_rows else torch.zeros(0, 0)
    return {
        "seconds": torch.tensor(seconds),
        "mse": mse_t,
        "psnr": 10.0 * torch.log10(4.0 / mse_t.clamp_min(1e-12)),
        "phase": ["adam"] * n_adam + ["lbfgs"] * (len(mse_rows) - n_adam),
    }


#: Adam steps between host reads of the inversion loop on an accelerator.
SYNC_EVERY = 16


def sync_interval(device: torch.device) -> int:
    """Steps between the inversion loop's host reads: 1 on the CPU (a read waits for
    nothing there), :data:`SYNC_EVERY` on an accelerator."""
    return 1 if torch.device(device).type == "cpu" else SYNC_EVERY


def _initial_latents(
    generator: Generator, x: torch.Tensor, restarts: int, init: Init, init_noise: float, seed: int
) -> torch.Tensor:
    """``(N·R, D)`` starting latents, image-major (the R restarts of image i are rows i·R … i·R+R−1)."""
    n, d = x.shape[0], generator.latent_dim
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    noise = torch.randn(n, restarts, d, generator=gen).to(generator.device)
    if init == "auto":
        init = "encoder" if generator.has_encoder else ("paper" if generator.is_conditional else "random")
    if init == "encoder":
        if not generator.has_encoder:
            raise ShapeError(f"init='encoder' but {generator.name} has no encoder; use 'paper' or 'random'")
        with torch.no_grad():
            z0 = generator.encode(x)
        z0 = (z0[0] if isinstance(z0, (tuple, list)) else z0).reshape(n, 1, d)
        # Restart 0 is the encoder's latent itself; the others are jittered around it.
        noise[:, 0] = 0.0
        z = z0 + init_noise * noise
    elif init == "paper":
        if not generator.is_conditional:
            raise ShapeError(f"init='paper' needs a conditional (z1, z2) generator; {generator.name} is not")
        d1 = generator.split_sizes[0]
        z = noise.clone()
        z[..., :d1] = 0.0  # z1 = 0, z2 ~ N(0, I) (medXGAN public code)
    elif init == "random":
        z = noise
    else:
        raise ArgumentError(f"init must be 'auto', 'encoder', 'paper' or 'random', not {init!r}")
    return z.reshape(n * restarts, d)


def invert(
    generator: Generator,
    classifier: Classifier,
    x: torch.Tensor,
    *,
    restarts: int = 2,
    steps: int = 100,
    lr: float = 0.1,
    bce_weight: float = 1.0,
    mse_weight: float = 4.0,
    init: Init = "auto",
    init_noise: float = 0.5,
    patience: int | None = 30,
    tol: float = 1e-3,
    prune_after: int | None = 30,
    target_mse: float | Sequence[float] | torch.Tensor | None = None,
    target: int | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, dict], object] | None = None,
    refine: Literal["lbfgs"] | None = "lbfgs",
    refine_evals: int = 300,
    plateau_db: float | None = None,
    plateau_window: int = 25,
    trace: bool = False,
) -> InversionResult:
    """Find latents whose images reproduce ``x`` (and the classifier's view of it).

    Parameters
    ----------
    generator, classifier
        The generative model and the classifier whose probabilities the loss matches.
    x
        ``(N, C, H, W)`` images in [-1, 1] of the generator's image shape.
    restarts
        Starts per image, optimised together as one batch of ``N·restarts`` latents
        (``1 … 256``, :data:`latentviz.bounds.INVERT_RESTARTS`).
    steps
        Maximum Adam steps (``0 … 100000``, :data:`latentviz.bounds.INVERT_STEPS`).
    lr
        Adam learning rate.
    bce_weight, mse_weight
        Loss weights (paper: 1 and 4).
    init
        ``"encoder"`` (the generator's encoder, restart 0 exact, others jittered by
        ``init_noise``), ``"paper"`` (z1 = 0, z2 ~ N(0, I)), ``"random"`` (z ~ N(0, I)) or
        ``"auto"`` (encoder if any, else paper for conditional models, else random).
    patience, tol
        A restart stops when its loss has not dropped by a relative ``tol`` for ``patience``
        steps (``None``: never).
    prune_after
        After this many steps only the best restart of each image goes on (``None``: all
        restarts run to the end).
    target_mse
        An image is done once one of its restarts reaches this MSE (one number, or one per
        image).
    target
        Class index whose probability the explanations use (default: the classifier's).
    seed
        Seed of the random starts.
    progress
        Show a tqdm progress bar.
    refine, refine_evals
        ``"lbfgs"``: after the Adam phase, polish the best latent of every image with L-BFGS
        (strong-Wolfe line search) for at most ``refine_evals`` loss evaluations, stopping
        once every image reaches ``target_mse``. Adam finds the basin; L-BFGS converges
        superlinearly inside it, where Adam at a fixed lr creeps. ``None`` skips it.
    callback
        Called after every Adam step as ``callback(step, {"steps": steps, "active": int,
        "mse": float, "phase": "adam"})`` (mean best MSE over images) and after every L-BFGS
        loss evaluation with ``step = steps + evaluation``, ``"steps": steps + refine_evals``
        and ``"phase": "lbfgs"``; it may raise to cancel (views use this).
    plateau_db, plateau_window
        Stop on a fidelity plateau: an image is done when its best PSNR rose by less than
        ``plateau_db`` dB over the last ``plateau_window`` Adam steps, and the L-BFGS polish
        ends when no image gained that much over its last ``plateau_window`` evaluations.
        ``None`` (the default) leaves stopping to ``patience``/``tol`` and the budgets.
    trace
        Record each image's best MSE after every Adam step and L-BFGS evaluation with the
        wall time (:attr:`InversionResult.trace`), for time-to-PSNR curves.

    Raises
    ------
    OptionError
        ``restarts``, ``steps`` or ``refine_evals`` outside its declared bound.

    Returns
    -------
    InversionResult
    """
    t0 = time.perf_counter()
    check_images(x, "images to invert")
    restarts = INVERT_RESTARTS.check("restarts", restarts)
    steps = INVERT_STEPS.check("steps", steps)
    if refine is not None:
        refine_evals = INVERT_REFINE_EVALS.check("refine_evals", refine_evals)
    x = x.to(generator.device, torch.float32).clone()  # a normal tensor even if made in inference mode
    expected = generator.image_shape
    if tuple(x.shape[1:]) != tuple(expected):
        raise ShapeError(
            f"images of shape {tuple(x.shape[1:])} cannot be inverted into {generator.name}, "
            f"which makes {tuple(expected)}"
        )
    n, r = x.shape[0], restarts
    goal = _per_image_goal(target_mse, n, x.device)
    if plateau_db is not None:
        plateau_db = INVERT_PLATEAU_DB.check("plateau_db", plateau_db)
        plateau_window = INVERT_PLATEAU_WINDOW.check("plateau_window", plateau_window)
    with torch.no_grad():
        p_x = classifier.probabilities(x).clamp(1e-6, 1 - 1e-6)
    x_rep = x.repeat_interleave(r, 0)
    p_rep = p_x.repeat_interleave(r, 0)

    z = _initial_latents(generator, x, r, init, init_noise, seed).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    best_loss = torch.full((n * r,), float("inf"), device=z.device)
    best_mse = torch.full((n * r,), float("inf"), device=z.device)
    best_z = z.detach().clone()
    stale = torch.zeros(n * r, dtype=torch.long, device=z.device)
    ran = torch.zeros(n * r, dtype=torch.long, device=z.device)
    active = torch.ones(n * r, dtype=torch.bool, device=z.device)

    # The loop reads nothing back to the host except at sync points (every
    # sync_interval(device) steps and right after pruning): there the batch shrinks to the
    # active restarts and the loop ends when none is left. Between them, restarts that stop
    # are masked, not dropped, so on an accelerator the steps queue without waiting. On the
    # CPU a read costs nothing, so every step is a sync point and no step is wasted. A
    # callback needs numbers and reads them every step (views pass one and accept that).
    history_t: list[torch.Tensor] = []
    trace_mse: list[torch.Tensor] = []
    trace_t: list[float] = []
    ring = torch.full((plateau_window if plateau_db is not None else 1, n), float("inf"), device=z.device)
    idx = torch.arange(n * r, device=z.device)
    every = sync_interval(z.device)
    bar = tqdm(range(steps), desc="inversion", disable=not progress, leave=False)
    for step in bar:
        if step % every == 0 or (prune_after is not None and step == prune_after):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
        zi = z[idx]
        g = generator.forward_trusted(zi)
        p_g = classifier.probabilities_trusted(g).clamp(1e-6, 1 - 1e-6)
        m = (g - x_rep[idx]).pow(2).flatten(1).mean(1)
        bce = F.binary_cross_entropy(p_g, p_rep[idx], reduction="none").mean(1)
        loss = bce_weight * bce + mse_weight * m
        opt.zero_grad(set_to_none=False)
        loss.sum().backward()

        with torch.no_grad():
            lv = loss.detach()
            on = active[idx]
            old = best_loss[idx]
            improved = lv < old * (1 - tol)
            better = (lv < old) & on
            best_loss[idx] = torch.where(better, lv, old)
            best_mse[idx] = torch.where(better, m.detach(), best_mse[idx])
            best_z[idx] = torch.where(better[:, None], zi.detach(), best_z[idx])
            stale_i = stale[idx]
            stale[idx] = torch.where(on, torch.where(improved, 0, stale_i + 1), stale_i)
            ran[idx] += on.long()
        opt.step()

        with torch.no_grad():
            if patience is not None:
                active &= stale < patience
            image_mse = best_mse.view(n, r).min(1).values
            if goal is not None:
                done = (best_mse.view(n, r) <= goal[:, None]).any(1)
                active &= ~done.repeat_interleave(r)
            if plateau_db is not None:
                # Best MSE plateau_window steps ago, in a ring buffer on the device.
                slot = step % plateau_window
                if step >= plateau_window:
                    gained = 10.0 * torch.log10(ring[slot] / image_mse.clamp_min(1e-12))
                    active &= ~(gained < plateau_db).repeat_interleave(r)
                ring[slot] = image_mse
            if trace:
                trace_mse.append(image_mse.clone())
                trace_t.append(time.perf_counter() - t0)
            if prune_after is not None and r > 1 and step + 1 == prune_after:
                keep = torch.zeros(n, r, dtype=torch.bool, device=z.device)
                keep[torch.arange(n, device=z.device), best_loss.view(n, r).argmin(1)] = True
                active &= keep.view(-1)
            # Stopped restarts keep their best latent (Adam's momentum would move them on).
            z.data.copy_(torch.where(active[:, None], z.data, best_z))
            history_t.append(best_loss.view(n, r).min(1).values.mean())
            if callback is not None:
                mse_now = best_mse.view(n, r).min(1).values.mean().item()
                info = {"steps": steps, "active": int(active.sum()), "mse": mse_now, "phase": "adam"}
                callback(step + 1, info)
            if progress and (step + 1) % every == 0:
                bar.set_postfix(
                    active=int(active.sum()), mse=f"{best_mse.view(n, r).min(1).values.mean():.4f}"
                )
    bar.close()
    n_adam = len(trace_mse)
    history = torch.stack(history_t).cpu() if history_t else torch.zeros(0)

    with torch.no_grad():
        if not history_t:  # steps == 0: evaluate the starts
            g = generator(z.detach())
            p_g = classifier.probabilities(g).clamp(1e-6, 1 - 1e-6)
            best_loss = bce_weight * F.binary_cross_entropy(p_g, p_rep, reduction="none").mean(
                1
            ) + mse_weight * (g - x_rep).pow(2).flatten(1).mean(1)
            best_z = z.detach().clone()
        choice = best_loss.view(n, r).argmin(1)
        rows = torch.arange(n, device=choice.device) * r + choice
        z_best = best_z[rows]
        loss_best = best_loss[rows]
        mse_best = best_mse[rows]
    ran_best = ran[rows]
    if (
        refine == "lbfgs"
        and refine_evals > 0
        and not (goal is not None and bool((mse_best <= goal).all()))
    ):
        z_best, loss_best, evals = _refine_lbfgs(
            generator,
            classifier,
            x,
            p_x,
            z_best,
            loss_best,
            bce_weight,
            mse_weight,
            refine_evals,
            goal,
            progress,
            on_eval=None if callback is None else _lbfgs_reporter(callback, steps, refine_evals),
            plateau=None if plateau_db is None else (plateau_db, plateau_window),
            trace=(trace_mse, trace_t, t0) if trace else None,
        )
        ran_best = ran_best + evals
    elif refine not in ("lbfgs", None):
        raise ArgumentError(f"refine must be 'lbfgs' or None, not {refine!r}")
    with torch.no_grad():
        recon = generator(z_best)
        rep = fidelity_report(classifier, x, recon, target)

    options = {
        "restarts": r,
        "steps": steps,
        "lr": lr,
        "bce_weight": bce_weight,
        "mse_weight": mse_weight,
        "init": init,
        "patience": patience,
        "tol": tol,
        "prune_after": prune_after,
        "target_mse": goal.tolist() if goal is not None and goal.numel() > 1 else target_mse,
        "seed": seed,
        "plateau_db": plateau_db,
        "plateau_window": plateau_window if plateau_db is not None else None,
        "refine": refine,
        "refine_evals": refine_evals,
    }
    return InversionResult(
        z=z_best.cpu(),
        reconstruction=recon.cpu(),
        original=x.cpu(),
        loss=loss_best.cpu(),
        steps=ran_best.cpu(),
        restart=choice.cpu(),
        history=history,
        seconds=time.perf_counter() - t0,
        options=options,
        trace=_trace_dict(trace_mse, trace_t, n_adam) if trace else None,
        **rep,
    )


def _lbfgs_reporter(
    callback: Callable[[int, dict], object], steps: int, refine_evals: int
) -> Callable[[int, float], object]:
    """Adapt ``invert``'s callback to L-BFGS evaluations (numbered after the Adam steps)."""

    def report(evaluation: int, mse: float) -> object:
        info = {"steps": steps + refine_evals, "active": None, "mse": mse, "phase": "lbfgs"}
        return callback(steps + evaluation, info)

    return report


def _refine_lbfgs(
    generator: Generator,
    classifier: Classifier,
    x: torch.Tensor,
    p_x: torch.Tensor,
    z0: torch.Tensor,
    loss0: torch.Tensor,
    bce_weight: float,
    mse_weight: float,
    max_evals: int,
    goal: torch.Tensor | None,
    progress: bool,
    on_eval: Callable[[int, float], object] | None = None,
    plateau: tuple[float, int] | None = None,
    trace: tuple[list, list, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """L-BFGS on the summed (separable) per-image loss; keeps each image's best latent."""
    z = z0.detach().clone().requires_grad_(True)
    best_z, best_loss = z0.detach().clone(), loss0.detach().clone()
    best_mse = torch.full_like(best_loss, float("inf"))
    opt = torch.optim.LBFGS([z], lr=1.0, max_iter=20, history_size=20, line_search_fn="strong_wolfe")
    evals = 0
    bar = tqdm(total=max_evals, desc="inversion (L-BFGS)", disable=not progress, leave=False)

    def closure() -> torch.Tensor:
        nonlocal evals
        opt.zero_grad()
        g = generator.forward_trusted(z)
        p_g = classifier.probabilities_trusted(g).clamp(1e-6, 1 - 1e-6)
        m = (g - x).pow(2).flatten(1).mean(1)
        loss = bce_weight * F.binary_cross_entropy(p_g, p_x, reduction="none").mean(1) + mse_weight * m
        with torch.no_grad():
            better = loss < best_loss
            best_loss.copy_(torch.where(better, loss, best_loss))
            best_mse.copy_(torch.where(better, m, best_mse))
            best_z.copy_(torch.where(better[:, None], z.detach(), best_z))
        evals += 1
        bar.update(1)
        if trace is not None:
            trace[0].append(best_mse.clone())
            trace[1].append(time.perf_counter() - trace[2])
        if plateau is not None:
            seen.append(best_mse.clone())
        if on_eval is not None:
            on_eval(evals, float(best_mse.mean()))
        total = loss.sum()
        total.backward()
        return total

    seen: list[torch.Tensor] = []
    prev = float("inf")
    while evals < max_evals:
        opt.step(closure)
        cur = float(best_loss.sum())
        if goal is not None and bool((best_mse <= goal).all()):
            break
        if plateau is not None and len(seen) > plateau[1]:
            gained = 10.0 * torch.log10(seen[-plateau[1] - 1] / seen[-1].clamp_min(1e-12))
            if bool((gained < plateau[0]).all()):
                break
            del seen[: -plateau[1] - 1]
        if not cur < prev * (1 - 1e-7):  # converged (or the line search made no progress)
            break
        prev = cur
    bar.close()
    return best_z, best_loss, evals


def invert_paper(
    generator: Generator,
    classifier: Classifier,
    x: torch.Tensor,
    *,
    steps: int = 5000,
    lr: float = 0.01,
    seed: int = 0,
    progress: bool = True,
    trace: bool = False,
) -> InversionResult:
    """The medXGAN public code's inversion: one start (z1 = 0, z2 ~ N(0, I)), Adam at lr 0.01
    for 5000 steps, no early stop. The slow reference :func:`invert` is benchmarked against
    (``trace=True`` records its time-to-PSNR curve)."""
    return invert(
        generator,
        classifier,
        x,
        restarts=1,
        steps=steps,
        lr=lr,
        init="paper",
        patience=None,
        prune_after=None,
        refine=None,
        seed=seed,
        progress=progress,
        trace=trace,
    )
