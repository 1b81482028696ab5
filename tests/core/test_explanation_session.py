from __future__ import annotations

import threading

import numpy as np
import pytest
from core_toys import toy_generator

from latentviz.core.explanation import ExplanationCancelled, ExplanationOptions, ExplanationSession
from latentviz.errors import LatentvizError, ShapeError

FAST = ExplanationOptions(inversion_steps=6, restarts=2, ig_steps=4, lig_steps=4)


@pytest.fixture
def cond():
    return toy_generator(split_sizes=(6, 2))


def test_all_panels_with_probability_and_mask(cond, classifier) -> None:
    x = cond.generate(cond.sample_latents(1, seed=7))
    mask = np.zeros((32, 32), bool)
    mask[8:16, 8:16] = True
    s = ExplanationSession(x, cond, classifier, mask=mask, options=FAST)
    seen: list[int] = []
    r = s.run(progress=lambda i, n: seen.append(i))
    # Adam steps 1..6, then the L-BFGS evaluations continue the count.
    assert seen[:6] == list(range(1, 7)) and max(seen) > 6 and seen == sorted(seen)
    panels = s.panels()
    keys = [p.key for p in panels]
    assert keys == [
        "original",
        "reconstruction",
        "negative",
        "difference",
        "colorized",
        "gradcam",
        "ig",
        "lig",
    ]
    for p in panels:
        assert p.png.startswith(b"\x89PNG") and "p=" in p.caption and p.probability is not None
    assert "PSNR" in panels[1].caption and "completeness" in panels[-1].caption
    # the mask contour is drawn when asked, and only then
    assert s.panels(show_mask=False)[0].png != panels[0].png
    assert r.low_fidelity == bool(r.inversion.low_fidelity[0])
    assert s.figure_png().startswith(b"\x89PNG")


def test_low_fidelity_is_flagged(cond, classifier) -> None:
    x = -np.ones((32, 32), np.float32)
    x[::2] = 1.0  # stripes the toy decoder cannot make
    s = ExplanationSession(
        x, cond, classifier, options=ExplanationOptions(inversion_steps=2, restarts=1, methods=("lig",))
    )
    s.run()
    rec = s.panels()[1]
    assert s.result.low_fidelity and "LOW FIDELITY" in rec.warning


def test_cancel_stops_a_background_run(cond, classifier) -> None:
    x = cond.generate(cond.sample_latents(1, seed=7))
    s = ExplanationSession(x, cond, classifier, options=ExplanationOptions(inversion_steps=20_000))
    errors: list[BaseException] = []
    started = threading.Event()
    s.start(lambda r: None, errors.append, progress=lambda i, n: started.set())
    assert started.wait(10.0)
    s.cancel()
    assert s.wait(10.0)
    assert isinstance(errors[0], ExplanationCancelled) and s.result is None


def test_bad_input(cond, generator, classifier) -> None:
    with pytest.raises(LatentvizError, match="conditional"):
        ExplanationSession(np.zeros((32, 32)), generator, classifier)
    with pytest.raises(ShapeError, match="makes"):
        ExplanationSession(np.zeros((16, 16)), cond, classifier)
    with pytest.raises(ShapeError, match=r"\[-1, 1\]"):
        ExplanationSession(np.full((32, 32), 300.0), cond, classifier)
    with pytest.raises(LatentvizError, match="baseline"):
        ExplanationSession(np.zeros((32, 32)), cond, classifier, options=ExplanationOptions(baseline="x"))
    with pytest.raises(LatentvizError, match="run"):
        ExplanationSession(np.zeros((32, 32)), cond, classifier).panels()


def test_from_zoo_takes_a_phantom_sample_with_its_mask(cond, classifier) -> None:
    opts = ExplanationOptions(inversion_steps=3, restarts=1, refine_evals=0, methods=("gradcam",))
    s = ExplanationSession.from_zoo(cond, classifier, options=opts, seed=2)
    assert s.mask is not None and s.mask.any() and s.image.shape == (1, 1, 32, 32)
    seen: list[tuple[int, int]] = []
    s.run(progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]  # refine_evals=0: Adam only
    with pytest.raises(LatentvizError, match="no zoo classifier"):
        ExplanationSession.from_zoo(cond)
    with pytest.raises(LatentvizError, match="refine_evals"):
        ExplanationOptions(refine_evals=-1).check()
