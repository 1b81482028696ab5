from __future__ import annotations

import numpy as np
import pytest
from widget_toys import toy_generator

from latentviz.directions import DirectionSet, sefa
from latentviz.errors import DirectionSetMismatchError
from latentviz.widgets import DirectionExplorer


@pytest.fixture
def explorer(generator, classifier):
    e = DirectionExplorer(generator, sefa(generator, k=3), classifier)
    yield e
    e.close()


def test_slider_changes_the_image_and_reset_restores_it(explorer) -> None:
    start = bytes(explorer.image.value)
    p0 = explorer.probability.value
    assert start.startswith(b"\x89PNG") and "classifier p(positive) =" in p0
    explorer.sliders[1].value = 3.0
    assert explorer.wait()
    assert bytes(explorer.image.value) != start and explorer.probability.value != p0
    explorer.reset_button.click()
    assert explorer.wait()
    assert bytes(explorer.image.value) == start and all(s.value == 0 for s in explorer.sliders)


def test_drag_renders_the_last_position(explorer) -> None:
    for v in np.linspace(-3, 3, 31):
        explorer.sliders[0].value = float(v)
    assert explorer.wait()
    assert explorer.session.state.values[0] == 3.0
    assert bytes(explorer.image.value) == explorer.session.render().png
    stats = explorer.session.worker(lambda *a: None).stats
    assert stats.computed + stats.dropped == stats.submitted


def test_controls_change_the_state(explorer) -> None:
    explorer.seed.value = 11
    explorer.truncation.value = 0.5
    explorer.grid.value = 2
    explorer.show_difference.value = True
    assert explorer.wait()
    st = explorer.session.state
    assert (st.seed, st.truncation, st.grid, st.difference) == (11, 0.5, 2, True)
    assert explorer.difference.layout.display == "" and bytes(explorer.difference.value).startswith(
        b"\x89PNG"
    )
    explorer.random_button.click()
    assert explorer.wait() and explorer.session.state.seed == explorer.seed.value


def test_rename_annotate_save_and_export(explorer, tmp_path, generator) -> None:
    explorer.which.value = 2
    explorer.new_name.value = "contrast"
    explorer.note.value = "darker background"
    explorer.rename_button.click()
    assert explorer.sliders[2].description.startswith("contrast")
    explorer.save_path.value = str(tmp_path / "set")
    explorer.save_button.click()
    back = DirectionSet.load(tmp_path / "set", generator=generator)
    assert back.names[2] == "contrast" and back.notes[2] == "darker background"
    explorer.export_path.value = str(tmp_path / "walk")
    explorer.gif_button.click()
    explorer.strip_button.click()
    assert (tmp_path / "walk.gif").stat().st_size > 0 and (tmp_path / "walk.png").stat().st_size > 0


def test_errors_show_in_the_status_line(explorer) -> None:
    explorer.new_name.value = explorer.session.directions.names[0]
    explorer.which.value = 1
    explorer.rename_button.click()
    assert "already called" in explorer.status.value


def test_wrong_model_direction_set_is_refused(generator) -> None:
    with pytest.raises(DirectionSetMismatchError, match="built for model"):
        DirectionExplorer(generator, sefa(toy_generator(seed=9), k=2))


def test_readout_is_the_probability_of_the_frame_on_screen(explorer) -> None:
    for v in np.linspace(-3, 3, 13):
        explorer.sliders[2].value = float(v)
    assert explorer.wait()
    frame = explorer.session.render(explorer.session.snapshot())
    assert bytes(explorer.image.value) == frame.png
    assert f"= {frame.probability:.3f}" in explorer.probability.value
    assert explorer.target_probability == pytest.approx(frame.probability)
