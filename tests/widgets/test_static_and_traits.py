"""Widgets outside a live frontend (a picture in the saved output) and their traits (issue 16)."""

from __future__ import annotations

import base64
import io

import ipywidgets as w
import nbformat
import numpy as np
import pytest
from PIL import Image
from widget_toys import toy_generator

from latentviz.directions import sefa
from latentviz.errors import OptionError
from latentviz.widgets import DirectionExplorer, ExplanationPanel, InterpolationPlayer


def _png(data: str | bytes) -> Image.Image:
    raw = base64.b64decode(data) if isinstance(data, str) else data
    return Image.open(io.BytesIO(raw))


def test_explorer_bundle_has_a_picture_of_the_current_state(generator, classifier) -> None:
    e = DirectionExplorer(generator, sefa(generator, k=3), classifier)
    try:
        bundle = e._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle  # the live view stays first
        assert (
            bundle["text/plain"].startswith("DirectionExplorer:") and "3 directions" in bundle["text/plain"]
        )
        before = np.asarray(_png(bundle["image/png"]))
        e.sliders[0].value = 3.0
        e.show_difference.value = True
        assert e.wait()
        after = _png(e._repr_mimebundle_()["image/png"])
        assert after.width > before.shape[1]  # the difference tile joined the image
        assert "+3.0" in e.describe()
    finally:
        e.close()


def test_explorer_value_trait_links_and_validates(generator, classifier) -> None:
    a = DirectionExplorer(generator, sefa(generator, k=3), classifier)
    b = DirectionExplorer(generator, sefa(generator, k=3), classifier)
    seen: list[tuple] = []
    try:
        a.observe(lambda ch: seen.append(ch["new"]), names="value")
        link = w.link((a, "value"), (b, "value"))
        a.sliders[1].value = 2.0
        assert a.wait() and b.wait()
        assert a.value == (0.0, 2.0, 0.0) and seen[-1] == (0.0, 2.0, 0.0)
        assert b.session.state.values == (0.0, 2.0, 0.0) and b.sliders[1].value == 2.0
        assert bytes(b.image.value) == b.session.render().png
        b.value = (1.0, -1.0, 0.5)  # set from the other side: a follows
        assert a.wait() and a.session.state.values == (1.0, -1.0, 0.5)
        assert a.target_probability is not None and 0.0 <= a.target_probability <= 1.0
        link.unlink()
        for bad in [(1.0, 2.0), (float("nan"), 0.0, 0.0), ("x", 0.0, 0.0)]:
            with pytest.raises(OptionError, match="value"):
                a.value = bad
        assert a.session.state.values == (1.0, -1.0, 0.5)  # nothing lost
        a.reset()
        assert a.value == (0.0, 0.0, 0.0)
    finally:
        a.close()
        b.close()


def test_player_value_is_the_frame_index(generator, classifier) -> None:
    z = generator.sample_latents(2, seed=0)
    p = InterpolationPlayer(generator, z[:1], z[1:], classifier, n_frames=6)
    slider = w.IntSlider(min=0, max=5)
    w.link((slider, "value"), (p, "value"))
    slider.value = 4
    assert p.scrub.value == 4 and "frame 5/6" in p.caption.value and "p(positive)" in p.caption.value
    assert p.target_probability == pytest.approx(p.session.frame(4).probability)
    tiles = _png(p._repr_mimebundle_()["image/png"])
    assert tiles.width > 2 * tiles.height  # frame, step and accumulated difference
    with pytest.raises(OptionError, match=r"frame index 0\.\.5"):
        p.value = 6


def test_panel_value_is_the_selected_methods_and_its_bundle_shows_the_figure(classifier) -> None:
    from latentviz.core.explanation import ExplanationOptions

    options = ExplanationOptions(inversion_steps=5, restarts=1, ig_steps=4, lig_steps=4)
    cond = toy_generator(split_sizes=(6, 2))
    x = cond.generate(cond.sample_latents(1, seed=1))
    p = ExplanationPanel(x, cond, classifier, options=options, run=False)
    assert "image/png" not in p._repr_mimebundle_()  # nothing explained yet: no picture
    assert "not explained yet" in p._repr_mimebundle_()["text/plain"]
    assert set(p.value) == {k for k, box in p.methods.items() if box.value}
    p.value = ("gradcam",)
    assert [k for k, box in p.methods.items() if box.value] == ["gradcam"]
    assert p.options().methods == ("gradcam",)
    p.methods["ig"].value = True
    assert p.value == ("gradcam", "ig") or set(p.value) == {"gradcam", "ig"}
    with pytest.raises(OptionError, match="registry keys"):
        p.value = ("no-such-method",)
    p.start()
    assert p.wait(60) and p.done
    fig = _png(p._repr_mimebundle_()["image/png"])
    assert fig.width > 3 * fig.height


def test_an_executed_notebook_keeps_a_picture_of_each_widget(tmp_path) -> None:
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from latentviz.widgets import DirectionExplorer, InterpolationPlayer\n"
            "from latentviz.core import loading\n"
            "g = loading.load_generator('ct-dcgan')\n"
            "explorer = DirectionExplorer(g, loading.discover(g, 'sefa', 2))\n"
            "explorer.value = (2.0, -1.0)\n"
            "explorer.wait()\n"
            "explorer"
        ),
        nbformat.v4.new_code_cell(
            "z = g.sample_latents(2, seed=0)\n"
            "player = InterpolationPlayer(g, z[:1], z[1:], n_frames=4)\n"
            "player"
        ),
    ]
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    for cell, name in zip(nb.cells, ("DirectionExplorer", "InterpolationPlayer")):
        data = cell.outputs[-1]["data"]
        assert "application/vnd.jupyter.widget-view+json" in data
        assert data["text/plain"].startswith(name)  # not "VBox(children=…)"
        assert _png(data["image/png"]).width >= 64
    assert "+2.0, -1.0" in nb.cells[0].outputs[-1]["data"]["text/plain"]


def test_widgets_export_mp4_beside_gif(generator, classifier, tmp_path) -> None:
    pytest.importorskip("imageio_ffmpeg")
    import imageio_ffmpeg

    e = DirectionExplorer(generator, sefa(generator, k=3), classifier)
    try:
        e.sliders[0].value = 2.0
        assert e.wait()
        e.export_path.value = str(tmp_path / "walk")
        e.mp4_button.click()
        assert (tmp_path / "walk.mp4").is_file() and "wrote" in e.status.value
    finally:
        e.close()
    z = generator.sample_latents(2, seed=0)
    p = InterpolationPlayer(generator, z[:1], z[1:], classifier, n_frames=6)
    p.export_path.value = str(tmp_path / "path.gif")
    p.mp4_button.click()
    p.gif_button.click()
    assert Image.open(tmp_path / "path.gif").n_frames == 6
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "path.mp4"))
    meta = next(reader)
    assert sum(1 for _ in reader) == 6 and meta["size"][0] > 0
