"""Benchmark rows of ``latentviz.explain`` (``latentviz bench explain``).

Measured side by side in one process:

* inversion on 10 positive phantoms (3 with ``--quick``): latentviz's batched,
  early-stopped :func:`invert` against the medXGAN public code's procedure
  (:func:`invert_paper`: 5000 Adam steps at lr 0.01, one start; 1000 with ``--quick``):
  per image, the time latentviz takes to reach the paper procedure's final MSE (median
  and worst speed-up), and the fidelity-plateau stop, which needs no goal;
* per-image time of Grad-CAM, IG (50 steps), LIG (32 steps), SmoothGrad and Latent Shift;
* wrapper overhead against raw captum calls, for Grad-CAM, IG and every method added through
  the registry (:func:`registry_pairs`; target ≤ 1.1×);
* batch throughput of the full explanation (inversion + counterfactual + Grad-CAM + IG + LIG).

Models: the zoo's ``cxr-medxgan``, ``cxr-classifier`` and ``cxr-vae`` (64 px) when bundled;
otherwise untrained models of the same architectures, and every row says so.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import LayerAttribution, LayerGradCam

from latentviz.bench.harness import Row, measure

__all__ = ["AREA", "registry_pairs", "rows"]

AREA = "explain"


def registry_pairs(c, x1: torch.Tensor) -> list[tuple[str, object, object]]:
    """``(row name, wrapper call, raw captum call)`` of the methods added through the registry,
    with the same module, inputs and options on both sides."""
    from captum import attr as ca

    from latentviz.explain import methods as m
    from latentviz.explain.baselines import score_module

    black = -torch.ones_like(x1)
    prob, logit = score_module(c, "probability"), score_module(c, "logit")
    sal, occ, gs = m.Saliency(c), m.Occlusion(c), m.GradientShap(c)
    dl, gb, ggc, lrp = m.DeepLift(c), m.GuidedBackprop(c), m.GuidedGradCam(c), m.LRP(c)
    raw = {
        "saliency": ca.Saliency(prob),
        "occlusion": ca.Occlusion(prob),
        "gradient_shap": ca.GradientShap(prob),
        "deeplift": ca.DeepLift(logit),
        "guided_backprop": ca.GuidedBackprop(logit),
        "guided_gradcam": ca.GuidedGradCam(logit, c.gradcam_layer),
        "lrp": ca.LRP(logit),
    }
    c1 = x1.shape[1]
    return [
        ("Saliency", lambda: sal.attribute(x1, target=1), lambda: raw["saliency"].attribute(x1, 1, abs=True)),
        (
            "Occlusion (8 px, stride 4)",
            lambda: occ.attribute(x1, target=1),
            lambda: raw["occlusion"].attribute(
                x1, (c1, 8, 8), target=1, strides=(c1, 4, 4), baselines=black, perturbations_per_eval=16
            ),
        ),
        (
            "GradientShap (16 samples)",
            lambda: gs.attribute(x1, target=1),
            lambda: raw["gradient_shap"].attribute(x1, black, n_samples=16, stdevs=0.1, target=1),
        ),
        (
            "DeepLift",
            lambda: dl.attribute(x1, target=1),
            lambda: raw["deeplift"].attribute(x1, black, target=1, return_convergence_delta=True),
        ),
        (
            "Guided Backprop",
            lambda: gb.attribute(x1, target=1),
            lambda: raw["guided_backprop"].attribute(x1, 1),
        ),
        (
            "Guided Grad-CAM",
            lambda: ggc.attribute(x1, target=1),
            lambda: raw["guided_gradcam"].attribute(x1, 1, interpolate_mode="nearest"),
        ),
        (
            "LRP",
            lambda: lrp.attribute(x1, target=1),
            lambda: raw["lrp"].attribute(x1, 1, return_convergence_delta=True),
        ),
    ]


def _models() -> tuple[object, object, object, str]:
    from latentviz import zoo

    have = set(zoo.names())
    if {"cxr-medxgan", "cxr-classifier"} <= have:
        g = zoo.load("cxr-medxgan", device="cpu")
        c = zoo.load("cxr-classifier", device="cpu")
        v = zoo.load("cxr-vae", device="cpu") if "cxr-vae" in have else None
        return g, c, v, "zoo cxr-medxgan/cxr-classifier" + ("/cxr-vae" if v is not None else "")
    from latentviz.models.architectures import build
    from latentviz.models.io import wrap_module

    torch.manual_seed(0)
    gk = {"anatomy_dim": 100, "pathology_dim": 10, "image_size": 64}
    g = wrap_module(build("medxgan", **gk), {"architecture": "medxgan", "kwargs": gk}, device="cpu")
    c = wrap_module(build("cnn-classifier"), {"architecture": "cnn-classifier", "kwargs": {}}, device="cpu")
    vk = {"latent_dim": 32, "image_size": 64}
    v = wrap_module(build("vae", **vk), {"architecture": "vae", "kwargs": vk}, device="cpu")
    return g, c, v, "UNTRAINED medxgan/cnn/vae 64 px (zoo not bundled)"


def _positives(g, c, n: int) -> torch.Tensor:
    """Images the generator makes from positive latents (z2 ~ N(0, I)): inversion targets
    whose best achievable MSE is 0."""
    with torch.no_grad():
        return g.generate(g.sample_latents(n, seed=123)).clone()


def _phantom_positives(kind: str, n: int) -> torch.Tensor:
    """``n`` positive phantoms (images the generator did not make: the paper's use)."""
    import numpy as np

    from latentviz.data.phantoms import generate

    return torch.as_tensor(generate(kind, n=n, seed=777, labels=np.ones(n, dtype=int)).images)


def time_to_goal(trace: dict, goal: torch.Tensor) -> list[float | None]:
    """Per image, the wall time at which its best MSE first reached ``goal`` (None: never)."""
    out: list[float | None] = []
    for i in range(len(goal)):
        hit = (trace["mse"][:, i] <= goal[i]).nonzero()
        out.append(float(trace["seconds"][hit[0, 0]]) if len(hit) else None)
    return out


def inversion_rows(g, c, label: str, quick: bool) -> list[Row]:
    """latentviz's inversion against the medXGAN code's procedure on phantoms, per image.

    Both run on the same batch (images are independent in both: Adam and the losses are
    per image), the paper procedure for its whole budget, latentviz with each image's own
    goal (the paper's final MSE) and with the fidelity-plateau stop, which needs no goal.
    """
    import statistics

    from latentviz.explain import invert, invert_paper

    n, paper_steps = (3, 1000) if quick else (10, 5000)
    x = _phantom_positives(str(c.config.get("data") or "cxr"), n)  # the stand-in: cxr too
    t0 = time.perf_counter()
    ref = invert_paper(g, c, x, steps=paper_steps, progress=False)
    t_paper = time.perf_counter() - t0
    goal = ref.mse
    # The L-BFGS budget is raised so that the goal (or the plateau) ends the run, not the cap.
    ours = invert(g, c, x, target_mse=goal, refine_evals=REFINE_EVALS, progress=False, trace=True)
    reached = time_to_goal(ours.trace, goal)
    # An image that never reached its goal counts as infinitely slow (speed-up 0).
    ratios = [t_paper / t if t else 0.0 for t in reached]
    times = [t if t is not None else math.inf for t in reached]
    median_t = statistics.median(times)
    plateau = invert(
        g, c, x, plateau_db=PLATEAU_DB, plateau_window=PLATEAU_WINDOW, refine_evals=REFINE_EVALS,
        progress=False,
    )  # fmt: skip
    base = f"paper procedure ({paper_steps} Adam steps, lr 0.01, 1 start) on {n} phantoms: {t_paper:.1f} s"
    return [
        Row(
            AREA,
            f"inversion: time to the paper procedure's final MSE (median of {n} images)",
            median_t if math.isfinite(median_t) else float("nan"),
            "s",
            target=">= 30× faster (median), no image worse",
            ratio=statistics.median(ratios) if math.isfinite(median_t) else None,
            baseline=base,
            extra={
                "models": label,
                "worst_ratio": min(ratios),
                "reached": sum(t is not None for t in reached),
                "none_worse": bool((ours.mse <= goal * (1 + 1e-6)).all()),
                "paper_mse": goal.tolist(),
                "latentviz_mse": ours.mse.tolist(),
                "latentviz_steps": ours.steps.tolist(),
                "per_image_s": reached,
            },
        ),
        Row(
            AREA,
            f"inversion: fidelity-plateau stop (< {PLATEAU_DB} dB over {PLATEAU_WINDOW} steps), no goal "
            f"({n} images)",
            plateau.seconds,
            "s",
            ratio=t_paper / plateau.seconds,
            baseline=base,
            extra={
                "models": label,
                "psnr_median": float(plateau.psnr.median()),
                "paper_psnr_median": float(ref.psnr.median()),
                "images_at_or_below_paper_mse": int((plateau.mse <= goal * (1 + 1e-6)).sum()),
                "steps": plateau.steps.tolist(),
            },
        ),
    ]


#: The plateau stop the bench (and ``docs/benchmarks.md``) measures, and its L-BFGS budget.
PLATEAU_DB, PLATEAU_WINDOW = 0.05, 25
REFINE_EVALS = 3000


def rows(quick: bool = False) -> list[Row]:
    from latentviz.explain import (
        GradCam,
        IntegratedGradients,
        LatentIntegratedGradients,
        LatentShift,
        SmoothGrad,
        invert,
    )
    from latentviz.explain.report import explain_image

    g, c, v, label = _models()
    out: list[Row] = []
    reps = 5 if quick else 15
    x1 = _positives(g, c, 1)

    # -- inversion vs the paper procedure ------------------------------------------------
    out += inversion_rows(g, c, label, quick)
    z1 = invert(g, c, x1, progress=False).z  # the latent the attribution rows explain

    # -- per-image attribution times ----------------------------------------------------
    gc, ig, sg = GradCam(c), IntegratedGradients(c), SmoothGrad(c)
    lig = LatentIntegratedGradients(g, c)
    timed = [
        ("Grad-CAM per image", lambda: gc.attribute(x1), "<= 20 ms"),
        ("IG (50 steps) per image", lambda: ig.attribute(x1, n_steps=50), "<= 300 ms"),
        ("LIG (32 steps, path) per image", lambda: lig.attribute(z1, n_steps=32), "<= 300 ms"),
        (
            "LIG (32 steps, path + paper in one pass)",
            lambda: lig.attribute(z1, n_steps=32, variant="both"),
            "",
        ),
        ("SmoothGrad (16 samples) per image", lambda: sg.attribute(x1, nt_samples=16), ""),
    ]
    if v is not None:
        ls = LatentShift(v, c)
        timed.append(("Latent Shift (24 search + 10 frames) per image", lambda: ls.attribute(x1), ""))
    for name, fn, target in timed:
        med, p95 = measure(fn, repeats=reps)
        out.append(Row(AREA, name, med, "ms", p95=p95, target=target, extra={"models": label}))

    # -- wrapper overhead vs raw captum --------------------------------------------------
    raw_gc = LayerGradCam(c.as_module("probability"), c.gradcam_layer)
    lg = GradCam(c, output="probability")
    raw_ig = CaptumIG(c.as_module("probability"))
    black = -torch.ones_like(x1)

    def raw_gradcam() -> None:
        a = raw_gc.attribute(x1, target=1, relu_attributions=True)
        LayerAttribution.interpolate(a, tuple(x1.shape[-2:]), interpolate_mode="bilinear")

    pairs = [
        ("Grad-CAM wrapper / raw captum", lambda: lg.attribute(x1, target=1), raw_gradcam),
        (
            "IG wrapper / raw captum (50 steps)",
            lambda: ig.attribute(x1, target=1, n_steps=50),
            lambda: raw_ig.attribute(
                x1, baselines=black, target=1, n_steps=50, return_convergence_delta=True
            ),
        ),
    ]
    pairs += [(f"{name} wrapper / raw captum", a, b) for name, a, b in registry_pairs(c, x1)]
    for name, ours_fn, raw_fn in pairs:
        # Interleave to share the machine's state (other jobs, caches) fairly.
        a_t, b_t = [], []
        for _ in range(3):
            a_t.append(measure(ours_fn, repeats=reps, warmup=1)[0])
            b_t.append(measure(raw_fn, repeats=reps, warmup=1)[0])
        ratio = float(np.median(a_t) / np.median(b_t))
        out.append(
            Row(
                AREA,
                name,
                ratio,
                "×",
                target="<= 1.1×",
                extra={"wrapper_ms": np.median(a_t), "raw_ms": np.median(b_t)},
            )
        )

    # -- batch throughput of the whole explanation --------------------------------------
    n = 4 if quick else 16
    xb = _positives(g, c, n)
    t0 = time.perf_counter()
    explain_image(g, c, xb, progress=False)
    dt = time.perf_counter() - t0
    out.append(
        Row(
            AREA,
            f"full explanation (invert + counterfactual + Grad-CAM + IG + LIG), batch {n}",
            n / dt,
            "img/s",
            extra={"seconds": dt, "models": label},
        )
    )
    return out
