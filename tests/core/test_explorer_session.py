from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from core_toys import toy_generator
from PIL import Image

from latentviz.core.explorer import ExplorerSession
from latentviz.directions import DirectionSet, sefa
from latentviz.errors import DirectionSetMismatchError, LatentvizError


@pytest.fixture
def session(generator, classifier) -> ExplorerSession:
    return ExplorerSession(generator, sefa(generator, k=3), classifier, seed=3)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_moving_a_slider_changes_the_frame_and_reset_restores_it(session: ExplorerSession) -> None:
    start = session.render()
    assert start.png.startswith(b"\x89PNG") and 0.0 < start.probability < 1.0
    session.set_value(0, 3.0)
    moved = session.render()
    assert np.abs(_pixels(moved.png).astype(int) - _pixels(start.png)).max() > 10
    assert moved.probability != start.probability
    session.reset()
    assert np.array_equal(_pixels(session.render().png), _pixels(start.png))


def test_shift_is_value_times_sigma_along_unit_direction(generator) -> None:
    ds = sefa(generator, k=2)
    ds.sigmas = np.array([2.0, 1.0])
    s = ExplorerSession(generator, ds, seed=1)
    z0 = s.latents().clone()
    s.set_value(0, 1.5)
    expected = z0 + 1.5 * 2.0 * torch.as_tensor(ds.directions[0])
    assert torch.allclose(s.latents(), expected, atol=1e-6)


def test_frame_matches_the_generator_output(session: ExplorerSession, generator) -> None:
    session.set_value(1, -2.0)
    frame = session.render()
    direct = generator.generate(session.latents())[0].numpy()
    assert np.allclose(frame.image, direct, atol=1e-6)


def test_wrong_model_direction_set_is_refused_with_a_message(generator) -> None:
    other = toy_generator(seed=5)
    with pytest.raises(DirectionSetMismatchError, match="built for model"):
        ExplorerSession(generator, sefa(other, k=2))
    with pytest.raises(DirectionSetMismatchError, match=r"needs \(K, 8\)"):
        ExplorerSession(generator, np.ones((2, 5)))
    ds = DirectionSet(np.eye(8)[:2], model_sha256=generator.sha256, latent_space="w")
    with pytest.raises(DirectionSetMismatchError, match="latent space"):
        ExplorerSession(generator, ds)


def test_plain_matrix_is_normalised_and_named(generator) -> None:
    s = ExplorerSession(generator, 5 * np.eye(8)[:3], names=["a", "b", "c"])
    assert s.directions.names == ["a", "b", "c"]
    assert torch.allclose(s.directions.matrix.norm(dim=1), torch.ones(3))


def test_frames_are_cached(session: ExplorerSession) -> None:
    session.set_value(0, 1.0)
    assert session.render() is session.render()


def test_bad_input_is_refused(session: ExplorerSession) -> None:
    with pytest.raises(LatentvizError, match="out of range"):
        session.set_value(7, 1.0)
    with pytest.raises(LatentvizError, match="finite"):
        session.set_value(0, float("nan"))
    with pytest.raises(LatentvizError, match="truncation"):
        session.set_truncation(0.0)
    with pytest.raises(LatentvizError, match="intensity window"):
        session.set_window("lung")  # the toy model has no HU window
    session.set_value(0, 99.0)
    assert session.state.values[0] == session.slider_range


def test_seed_truncation_grid_and_difference(session: ExplorerSession) -> None:
    a = session.render()
    session.set_seed(4)
    assert not np.array_equal(session.render().image, a.image)
    session.set_truncation(0.5)
    half = session.render()
    assert np.allclose(session.latents(), 0.5 * session.generator.sample_latents(1, seed=4))
    session.set_grid(2)
    grid = session.render()
    assert _pixels(grid.png).shape[1] > 2 * _pixels(half.png).shape[1]
    assert np.allclose(grid.image, half.image, atol=1e-6)  # tile 0 is the single image
    session.set_grid(0)
    session.set_difference(True)
    assert _pixels(session.render().difference_png)[..., 0].std() < 1  # at start: all white
    session.set_value(0, 4.0)
    assert _pixels(session.render().difference_png).std() > 1
    assert isinstance(session.random_seed(), int)


def test_window_preset_when_model_window_is_known() -> None:
    g = toy_generator(config={"window": (0.0, 2000.0)})
    s = ExplorerSession(g, np.eye(8)[:1])
    assert "lung" in s.window_presets()
    full = _pixels(s.render().png)
    s.set_window("mediastinum")
    narrow = _pixels(s.render().png)
    assert (narrow == 0).sum() + (narrow == 255).sum() > (full == 0).sum() + (full == 255).sum()


def test_rename_annotate_and_save(session: ExplorerSession, tmp_path, generator) -> None:
    session.rename(0, "brightness")
    session.annotate(0, "whole image gets lighter")
    with pytest.raises(LatentvizError, match="already called"):
        session.rename(1, "brightness")
    session.save_directions(tmp_path / "dirs")
    back = DirectionSet.load(tmp_path / "dirs", generator=generator)
    assert back.names[0] == "brightness" and back.notes[0] == "whole image gets lighter"


def test_walk_exports(session: ExplorerSession, tmp_path) -> None:
    images, probs, steps = session.walk(direction=0, span=2.0, n_frames=5)
    assert images.shape[0] == 5 and probs.shape == (5,) and steps[0] == -2.0
    gif = session.export_gif(tmp_path / "walk.gif", direction=0, n_frames=6)
    assert Image.open(io.BytesIO(gif)).n_frames == 6 and (tmp_path / "walk.gif").stat().st_size == len(gif)
    session.set_value(0, 2.0)
    strip = Image.open(io.BytesIO(session.export_strip(n_frames=4)))
    assert strip.size[0] > 4 * 100
    with pytest.raises(LatentvizError):
        session.walk(n_frames=1)


def test_worker_renders_the_last_state(session: ExplorerSession) -> None:
    got: list = []
    done = threading.Event()

    def on_frame(state, frame):
        got.append(frame)
        if state.values[0] == 2.5:
            done.set()

    w = session.worker(on_frame)
    for v in np.linspace(-2.5, 2.5, 21):
        session.set_value(0, float(v))
        w.submit(session.snapshot())
    assert done.wait(10.0) and w.wait_idle(5.0)
    assert got[-1].state.values[0] == 2.5
    session.close()


def test_phantom_units_decide_the_window_presets() -> None:
    ct = toy_generator(config={"data": "ct"})
    s = ExplorerSession(ct, np.eye(8)[:1])
    assert s.model_window == (-600.0, 1500.0) and s.units == "HU" and "mediastinum" in s.window_presets()
    s.set_window("mediastinum")
    lo, hi = s.resolve_window("mediastinum")  # 50 ± 175 HU inside the phantom's lung window
    assert lo == pytest.approx((-125 + 1350) / 750 - 1) and hi == pytest.approx((225 + 1350) / 750 - 1)
    brain = ExplorerSession(toy_generator(config={"data": "brain"}), np.eye(8)[:1])
    assert brain.units == "template intensity"
    assert brain.window_presets() == ["full", "auto", "high-contrast"]
    with pytest.raises(LatentvizError, match="CT preset in HU"):
        brain.set_window("lung")


def test_relative_window_stretches_each_frame(session: ExplorerSession) -> None:
    full = _pixels(session.render().png)
    session.set_window("high-contrast")
    frame = session.render()
    stretched = _pixels(frame.png)
    lo, hi = np.percentile(frame.image, [5, 95])
    assert session.display_range("high-contrast", frame.image) == pytest.approx((lo, hi))
    assert stretched.std() > full.std()  # 5-95 % of the frame now spans 0..255
    assert ((stretched == 0).mean() > 0.03) and ((stretched == 255).mean() > 0.03)
    strip = session.export_strip(n_frames=3)  # the export uses the same window
    assert strip.startswith(b"\x89PNG")


def test_difference_colormap_is_an_option(generator) -> None:
    from latentviz.core import render
    from latentviz.errors import UnknownColormapError

    ds = sefa(generator, k=2)
    default = ExplorerSession(generator, ds, seed=1)
    other = ExplorerSession(generator, ds, seed=1, difference_colormap="PuOr")
    assert default.difference_colormap == render.SIGNED_COLORMAP
    assert default.difference_colorbar() != other.difference_colorbar()
    with pytest.raises(UnknownColormapError):
        ExplorerSession(generator, ds, difference_colormap="nope")


class _SlowClassifier:
    """Wraps a classifier so that each probability takes at least ``delay`` seconds."""

    def __init__(self, inner, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def probability(self, x, target=None):
        import time

        self.calls += 1
        time.sleep(self.delay)
        return self.inner.probability(x, target)


def test_the_frame_does_not_wait_for_the_probability(generator, classifier) -> None:
    import time

    slow = _SlowClassifier(classifier, delay=0.4)
    s = ExplorerSession(generator, sefa(generator, k=3), slow)
    frames: list[tuple[float, object]] = []
    probs: list[tuple[float, object, float]] = []
    t0 = time.perf_counter()
    w = s.worker(
        lambda st, f: frames.append((time.perf_counter() - t0, f)),
        None,
        lambda st, p: probs.append((time.perf_counter() - t0, st, p)),
    )
    s.set_value(0, 2.0)
    w.submit(s.snapshot())
    assert s.wait_idle(10)
    (t_frame, frame), (t_prob, st, p) = frames[-1], probs[-1]
    assert frame.probability is None and t_frame < 0.3 < t_prob  # the image came first
    assert st == frame.state
    reference = ExplorerSession(generator, sefa(generator, k=3), classifier).render(st)
    assert p == pytest.approx(reference.probability, abs=1e-6)
    assert s.render(st).probability == p and slow.calls == 1  # cached with the frame
    s.close()


def test_a_newer_frame_drops_the_older_probability(generator, classifier) -> None:
    slow = _SlowClassifier(classifier, delay=0.2)
    s = ExplorerSession(generator, sefa(generator, k=3), slow)
    shown: list = []
    labels: list = []

    def on_frame(st, f):
        shown.append(st)

    def on_probability(st, p):
        labels.append((st, p))

    w = s.worker(on_frame, None, on_probability)
    for v in np.linspace(-3, 3, 25):  # a drag
        s.set_value(1, float(v))
        w.submit(s.snapshot())
    assert s.wait_idle(20)
    assert labels[-1][0] == shown[-1] == s.snapshot()  # the last frame gets its probability
    assert all(st in shown for st, _ in labels)  # only probabilities of frames that were sent
    assert len(labels) <= len(shown)
    s.close()


def test_a_slider_frame_reads_only_the_image_back(session: ExplorerSession) -> None:
    # One frame on an accelerator: the slider values go up asynchronously, the generator
    # and the classifier run without value checks, and the image comes back once for
    # the PNG (the probability once more, as a number, when it is asked for).
    from latentviz.models.device import HostSyncCounter

    session.render()  # warm the start-image and latent caches
    session.set_value(0, 1.5)
    with HostSyncCounter() as syncs:
        session.render(probability=False)
    assert syncs.events == ["cpu", "numpy"], syncs.events
    session.set_value(0, -1.0)
    with HostSyncCounter() as syncs:
        frame = session.render()
    assert frame.probability is not None
    assert syncs.events.count("__float__") == 1 and "item" not in syncs.events
    assert "__bool__" not in syncs.events, syncs.events
