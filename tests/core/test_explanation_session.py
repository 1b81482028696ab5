from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from core_toys import toy_generator

from latentviz.core.explanation import ExplanationCancelled, ExplanationOptions, ExplanationSession
from latentviz.errors import LatentvizError, OptionError, ShapeError

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
    s = ExplanationSession(x, cond, classifier, options=ExplanationOptions(inversion_steps=5000))
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


HUGE = {"ig_steps": 10**6, "lig_steps": 10**6, "restarts": 10**4}


@pytest.mark.parametrize(
    ("name", "value"), [*HUGE.items(), ("inversion_steps", 10**9), ("refine_evals", 10**9)]
)
def test_check_refuses_values_outside_the_declaration(name, value) -> None:
    spec = ExplanationOptions.spec(name)
    with pytest.raises(OptionError, match=f"{name}={value}") as info:
        ExplanationOptions(**{name: value}).check()
    assert f"{spec.low} … {spec.high}" in str(info.value)
    assert info.value.option == name and info.value.value == value
    ExplanationOptions(**{name: spec.high}).check()  # the bounds themselves are allowed
    ExplanationOptions(**{name: spec.low}).check()


def test_check_refuses_every_declared_bound_and_choice() -> None:
    specs = ExplanationOptions.specs()
    assert set(specs) == {f.name for f in dataclasses.fields(ExplanationOptions)}
    assert all(s.doc and s.label for s in specs.values())
    ExplanationOptions().check()  # the defaults lie inside their own bounds
    for name, spec in specs.items():
        bad: list[object] = []
        if spec.low is not None:
            bad.append(spec.low - 1)
        if spec.high is not None:
            bad.append(spec.high + 1)
        if spec.bound is not None:
            bad += [1.5, "4", True]
        if spec.choices is not None:
            bad.append(("nope",) if name == "methods" else "nope")
        for value in bad:
            with pytest.raises(OptionError, match=name):
                ExplanationOptions(**{name: value}).check()
    with pytest.raises(OptionError, match="methods"):
        ExplanationOptions(methods=()).check()


def test_session_refuses_huge_options_before_computing(cond, classifier) -> None:
    with pytest.raises(OptionError, match="ig_steps"):
        ExplanationSession(np.zeros((32, 32)), cond, classifier, options=ExplanationOptions(**HUGE))
    s = ExplanationSession(np.zeros((32, 32)), cond, classifier, options=FAST)
    s.options = ExplanationOptions(**HUGE)  # set after construction, as a view does
    with pytest.raises(OptionError, match="ig_steps"):
        s.run()
    assert s.result is None


def test_target_is_bounded_by_the_classifier(cond, classifier) -> None:
    s = ExplanationSession(np.zeros((32, 32)), cond, classifier, options=FAST)
    s.options = dataclasses.replace(FAST, target=len(classifier.target_names))
    with pytest.raises(OptionError, match="target"):
        s.run()
