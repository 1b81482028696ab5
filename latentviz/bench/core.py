"""Benchmark rows of the interactive core, measured exactly as the widgets call it.

* slider event → new frame bytes (``ExplorerSession.set_value`` + ``render``) for every
  bundled generator, at its native size;
* a 32-frame interpolation strip (``InterpolationSession`` + ``strip_png``);
* the explanation panel, all methods, on one phantom image.
"""

from __future__ import annotations

import time

import numpy as np

from latentviz.bench.harness import Row, measure
from latentviz.errors import LatentvizError

__all__ = ["AREA", "rows"]

AREA = "core"


def _zoo():
    from latentviz import zoo
    from latentviz.models.classifier import Classifier
    from latentviz.models.generator import Generator

    names = zoo.names()
    if not names:
        raise LatentvizError("the core benchmark needs the bundled zoo models; none are installed")
    models = {n: zoo.load(n) for n in names}
    gens = {n: m for n, m in models.items() if isinstance(m, Generator)}
    clfs = {n: m for n, m in models.items() if isinstance(m, Classifier)}
    return gens, clfs


def _directions(generator):
    """Four SeFa directions (of the style affines for a style-based model), as the views pick them."""
    from latentviz.core.loading import discover

    return discover(generator, "sefa", 4)


def _slider_row(name, generator, classifier, repeats: int) -> Row:
    from latentviz.core.explorer import ExplorerSession

    s = ExplorerSession(generator, _directions(generator), classifier, cache_size=1)
    size = generator.image_shape[-1]
    values = iter(np.tile(np.linspace(-3, 3, 61), 1 + repeats // 61 + 2))

    def event() -> bytes:  # what DirectionExplorer._on_slider + the worker do
        s.set_value(0, float(next(values)))
        return s.render(s.snapshot()).png

    med, p95 = measure(event, repeats=repeats, warmup=3)
    target = "<= 10 ms" if size <= 64 else "<= 20 ms"
    clf = classifier.name if classifier is not None else "none"
    return Row(
        AREA,
        f"slider → frame bytes, {name} {size} px (+{clf})",
        med,
        "ms",
        p95,
        target,
        extra={"repeats": repeats, "size": size},
    )


def _frame_first_row(name, generator, classifier, repeats: int) -> Row:
    """Slider event → frame callback of the worker the front ends use (the probability on its
    own worker), against the floor: one generator forward + the PNG encode, interleaved."""
    import threading

    import torch

    from latentviz.core import render
    from latentviz.core.explorer import ExplorerSession

    s = ExplorerSession(generator, _directions(generator), classifier, cache_size=1)
    arrived = threading.Event()
    worker = s.worker(lambda st, f: arrived.set(), None, lambda st, p: None)
    values = iter(np.tile(np.linspace(-3, 3, 61), 2 + (repeats + 3) // 61))
    z = generator.sample_latents(1, seed=0)

    def event() -> float:
        arrived.clear()
        t0 = time.perf_counter()
        s.set_value(0, float(next(values)))
        worker.submit(s.snapshot())
        if not arrived.wait(30):
            raise LatentvizError("the slider worker sent no frame within 30 s")
        dt = (time.perf_counter() - t0) * 1e3
        s.wait_idle(30)  # the probability, before the next pair
        return dt

    def floor() -> float:
        t0 = time.perf_counter()
        with torch.inference_mode():
            x = generator(z)
        render.png_bytes(render.to_uint8(x[0].cpu().numpy()))
        return (time.perf_counter() - t0) * 1e3

    for _ in range(3):
        event(), floor()
    ours, base = [], []
    for _ in range(repeats):  # interleaved pairs: load drifts hit both alike
        ours.append(event())
        base.append(floor())
    s.close()
    ours.sort()
    base.sort()
    q = lambda xs: xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]  # noqa: E731
    med, p95 = float(np.median(ours)), q(ours)
    size = generator.image_shape[-1]
    return Row(
        AREA,
        f"slider → frame on screen, frame first, {name} {size} px (+{classifier.name}) vs forward + PNG",
        med,
        "ms",
        p95,
        "<= 1.1x floor",
        ratio=med / float(np.median(base)),
        baseline="generator forward + PNG encode",
        extra={
            "repeats": repeats,
            "floor_ms": float(np.median(base)),
            "floor_p95_ms": q(base),
            "p95_ratio": p95 / q(base),
        },
    )


def _at_128px():
    """The zoo's DCGAN and CNN architectures built at 128 px (the zoo's models are all 64 px).

    Untrained weights: a slider frame costs the same compute whatever the weights are.
    """
    import torch

    from latentviz.models.architectures import build
    from latentviz.models.classifier import Classifier
    from latentviz.models.generator import Generator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        g = Generator(
            build("dcgan", latent_dim=32, image_size=128, width=32),
            latent_shape=(32,),
            name="dcgan-arch",
            device="cpu",
        )
        c = Classifier(build("cnn-classifier", num_classes=2, width=16), activation="softmax", device="cpu")
    return g, c


def rows(quick: bool = False) -> list[Row]:
    """Core rows: slider latency per zoo generator, interpolation strip, explanation panel."""
    from latentviz.core.explanation import ExplanationOptions, ExplanationSession
    from latentviz.core.interpolation import InterpolationSession

    repeats = 30 if quick else 200
    gens, clfs = _zoo()
    out: list[Row] = []
    for name, g in gens.items():
        kind = name.split("-")[0]
        clf = clfs.get(f"{kind}-classifier")
        if clf is not None and tuple(clf.config.get("image_shape", g.image_shape)) != tuple(g.image_shape):
            clf = None
        out.append(_slider_row(name, g, clf, repeats))
    g128, c128 = _at_128px()
    row = _slider_row("zoo DCGAN architecture (untrained)", g128, c128, repeats)
    row.extra["note"] = "no 128 px model in the zoo; same architecture as ct-dcgan at 128 px"
    out.append(row)
    # The frame the widget and the dashboard show, with the classifier on, against its floor.
    if "ct-dcgan" in gens and "ct-classifier" in clfs:
        out.append(_frame_first_row("ct-dcgan", gens["ct-dcgan"], clfs["ct-classifier"], repeats))
    row = _frame_first_row("zoo DCGAN architecture (untrained)", g128, c128, repeats)
    row.extra["note"] = "no 128 px model in the zoo; same architecture as ct-dcgan at 128 px"
    out.append(row)
    cond = [n for n, g in gens.items() if g.is_conditional]
    for name in cond[:1]:
        g = gens[name]
        clf = clfs.get(f"{name.split('-')[0]}-classifier")
        z = g.sample_latents(1, seed=0)
        med, p95 = measure(
            lambda g=g, z=z, clf=clf: InterpolationSession(g, None, z, clf, 32).strip_png(),
            repeats=5 if quick else 20,
        )
        out.append(Row(AREA, f"interpolation strip, 32 frames, {name}", med, "ms", p95, "<= 150 ms"))
        med, p95 = measure(  # what InterpolationPlayer does before its first frame: 3 PNGs per frame
            lambda g=g, z=z, clf=clf: InterpolationSession(g, None, z, clf, 32).render_all(),
            repeats=5 if quick else 20,
        )
        out.append(Row(AREA, f"interpolation player, 32 frames × 3 PNGs, {name}", med, "ms", p95))
        if clf is not None:
            opts = ExplanationOptions(inversion_steps=100 if quick else 300)
            s = ExplanationSession.from_phantom(g, clf, name.split("-")[0], options=opts)
            t0 = time.perf_counter()
            s.run()
            s.panels()
            secs = time.perf_counter() - t0
            out.append(
                Row(
                    AREA,
                    f"explanation panel, all methods, {name}",
                    secs * 1e3,
                    "ms",
                    extra={
                        "inversion_steps": opts.inversion_steps,
                        "restarts": opts.restarts,
                        "low_fidelity": s.result.low_fidelity,
                    },
                )
            )
    return out
