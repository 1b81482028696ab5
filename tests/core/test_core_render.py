from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from latentviz.core import render
from latentviz.errors import LatentvizError, OptionError, ShapeError, UnknownColormapError


def _decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_to_uint8_maps_model_range_and_clips() -> None:
    img = torch.tensor([[-2.0, -1.0, 0.0, 1.0, 3.0]])
    assert render.to_uint8(img).tolist() == [[0, 0, 128, 255, 255]]


def test_to_uint8_rgb_is_channels_last() -> None:
    assert render.to_uint8(np.zeros((3, 4, 5), np.float32)).shape == (4, 5, 3)


def test_to_numpy_rejects_bad_shapes() -> None:
    with pytest.raises(ShapeError, match="expected an image"):
        render.to_numpy(np.zeros((2, 4, 4)))


def test_colormaps_are_256_entry_luts() -> None:
    for name in ("grey", "diverging", "jet", "viridis", "magma", "RdBu_r", render.MAGNITUDE_COLORMAP):
        lut = render.COLORMAPS[name]
        assert lut.shape == (256, 3) and lut.dtype == np.uint8, name
    # the diverging map is white at zero, blue below, red above
    div = render.COLORMAPS["diverging"]
    assert div[128].min() > 240
    assert div[0, 2] > div[0, 0] and div[255, 0] > div[255, 2]
    with pytest.raises(LatentvizError, match="unknown colormap"):
        render.apply_colormap(np.zeros((2, 2), np.uint8), "viridis-nope")


@pytest.mark.parametrize("name", ["viridis", "magma", "RdBu_r", "jet", "gray", "inferno_r"])
def test_colormap_tables_equal_matplotlib(name: str) -> None:
    import matplotlib

    expected = np.round(matplotlib.colormaps[name].resampled(256)(np.linspace(0, 1, 256))[:, :3] * 255)
    np.testing.assert_array_equal(render.colormap_lut(name), expected.astype(np.uint8))
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(render.apply_colormap(ramp, name), expected[ramp].astype(np.uint8))


def test_aliases_keep_the_old_names() -> None:
    np.testing.assert_array_equal(render.colormap_lut("grey"), render.colormap_lut("gray"))
    np.testing.assert_array_equal(
        render.colormap_lut("diverging"), render.colormap_lut(render.SIGNED_COLORMAP)
    )
    assert render.colormap_lut("grey")[:, 0].tolist() == list(range(256))
    assert {"grey", "diverging", "viridis", "jet"} <= set(render.colormap_names())
    assert "jet" in render.COLORMAPS and "nope" not in render.COLORMAPS


def test_unknown_colormap_is_a_typed_option_error() -> None:
    for bad in ("nope", "", None, 3):
        with pytest.raises(UnknownColormapError) as exc:
            render.colormap_lut(bad)  # type: ignore[arg-type]
        assert isinstance(exc.value, OptionError) and isinstance(exc.value, ValueError)
        assert exc.value.option == "colormap" and "viridis" in str(exc.value)
    with pytest.raises(UnknownColormapError):
        render.heat_overlay(np.zeros((4, 4), np.uint8), np.ones((4, 4)), colormap="nope")
    with pytest.raises(UnknownColormapError):
        render.colorbar_png("nope", 0, 1, "x")
    with pytest.raises(KeyError):
        render.COLORMAPS["nope"]


def test_luts_are_cached_and_read_only() -> None:
    lut = render.colormap_lut("cividis")
    assert render.colormap_lut("cividis") is lut
    with pytest.raises(ValueError):
        lut[0, 0] = 1


def test_magnitude_default_is_perceptually_uniform_and_jet_stays_an_option() -> None:
    # viridis, magma, inferno, plasma and cividis are matplotlib's perceptually uniform maps.
    assert render.MAGNITUDE_COLORMAP in {"viridis", "magma", "inferno", "plasma", "cividis"}
    heat = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    base = np.zeros((4, 4), np.uint8)
    default = render.heat_overlay(base, heat, alpha=1.0)
    jet = render.heat_overlay(base, heat, alpha=1.0, colormap="jet")
    np.testing.assert_array_equal(
        default, render.apply_colormap(render.to_uint8(heat, (0, 1)), render.MAGNITUDE_COLORMAP)
    )
    assert not np.array_equal(default, jet)
    # lightness of the default rises monotonically with the value (it does not for jet)
    luma = render.colormap_lut(render.MAGNITUDE_COLORMAP) @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luma) > -1.0)


def test_signed_to_uint8_centres_zero() -> None:
    u8 = render.signed_to_uint8(np.array([[-1.0, 0.0, 1.0]]), scale=1.0)
    assert u8.tolist() == [[0, 128, 255]]


def test_png_roundtrip() -> None:
    u8 = (np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)
    back = np.asarray(_decode(render.png_bytes(u8)))
    assert np.array_equal(back, u8)
    with pytest.raises(ShapeError):
        render.png_bytes(u8.astype(np.float32))


def test_window_presets_map_hu_into_model_range() -> None:
    # model trained on [-1000, 1000] HU: centre 0, width 2000
    lo, hi = render.resolve_window("mediastinum", (0.0, 2000.0))
    assert lo == pytest.approx((50 - 175) / 1000) and hi == pytest.approx((50 + 175) / 1000)
    assert render.resolve_window("full", None) is None
    with pytest.raises(LatentvizError, match="intensity window"):
        render.resolve_window("lung", None)
    with pytest.raises(LatentvizError, match="unknown window preset"):
        render.resolve_window("liver-ish", (0.0, 2000.0))


def test_heat_overlay_and_contour() -> None:
    base = np.full((8, 8), 100, np.uint8)
    heat = np.zeros((8, 8), np.float32)
    heat[2:4, 2:4] = 1.0
    out = render.heat_overlay(base, heat, alpha=0.5)
    assert out.shape == (8, 8, 3)
    assert not np.array_equal(out[3, 3], out[7, 7])  # hot pixel coloured differently
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    edge = render.contour(mask)
    assert edge.sum() == 12 and not edge[3, 3] and edge[2, 2]
    with pytest.raises(ShapeError):
        render.heat_overlay(base, np.zeros((4, 4)))


def test_gif_has_every_frame() -> None:
    frames = [np.full((16, 16), v, np.uint8) for v in (0, 80, 160, 240)]
    gif = _decode(render.gif_bytes(frames, duration_ms=50))
    assert gif.format == "GIF" and gif.n_frames == 4
    with pytest.raises(ShapeError):
        render.gif_bytes([np.zeros((4, 4), np.uint8), np.zeros((5, 5), np.uint8)])


def test_strip_grid_label_and_colorbar() -> None:
    tiles = [np.zeros((10, 12), np.uint8)] * 5
    assert render.strip(tiles, gap=2).shape == (10, 5 * 14 - 2, 3)
    assert render.grid(tiles, columns=2, gap=2).shape == (3 * 12 - 2, 2 * 14 - 2, 3)
    labelled = render.label_image(np.zeros((10, 12), np.uint8), "p=0.50", scale=2, footer="x")
    assert labelled.shape == (20 + 32, 24, 3)
    assert (labelled[:16] < 128).any()  # the caption put dark pixels in the band
    bar = _decode(render.colorbar_png("diverging", -1, 1, "difference"))
    assert bar.size[0] > 256


def test_long_captions_wrap_inside_the_tile_and_strips_stay_aligned() -> None:
    title = "Latent Shift — NO COUNTERFACTUAL"
    footer = "not an explanation: p 0.070 → 0.080 along the walk"
    lines = render.wrap_text(footer, 128 - 6)
    assert len(lines) > 1 and " ".join(lines) == footer
    assert all(render._text_width(t, 11) <= 122 for t in lines)
    tile = render.label_image(np.zeros((64, 64), np.uint8), title, scale=2, footer=footer)
    n_head, n_foot = render.label_lines(title, 64, 2), render.label_lines(footer, 64, 2)
    assert n_head == 2 and tile.shape[0] == 2 + 14 * n_head + 128 + 14 * n_foot + 2
    # the right margin of the tile stays white: nothing was drawn past its edge
    assert (tile[: 2 + 14 * n_head, -3:] == 255).all()
    short = render.label_image(
        np.zeros((64, 64), np.uint8), "Original", scale=2, footer="p=1.000", lines=n_head, footer_lines=n_foot
    )
    assert short.shape == tile.shape  # padded to the same bands: images start on one row
    assert (short[2 + 14 * n_head : 2 + 14 * n_head + 128] == 0).all()


def test_captions_keep_the_true_minus_and_greek_letters() -> None:
    # DejaVu Sans (matplotlib's) has −, Δ and σ: a caption with them differs from its ASCII form.
    assert render._font(11)[1] is True
    a = render.label_image(np.zeros((8, 64), np.uint8), "frame − previous Δσ", scale=2)
    b = render.label_image(np.zeros((8, 64), np.uint8), "frame - previous dsd", scale=2)
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert render.tick_label(-0.5) == "\u22120.5" and render.tick_label(0.25) == "0.25"


def test_colorbar_is_wide_enough_for_its_label_and_can_leave_it_out() -> None:
    short = _decode(render.colorbar_png("magma", 0, 1, "x"))
    long_label = "value / max|value| of each map (red: raises p), a long label that must not be clipped"
    long = _decode(render.colorbar_png("magma", 0, 1, long_label))
    assert long.size[0] > short.size[0]
    ink = np.asarray(long.convert("L"))[-14:]  # the label's row
    assert (ink[:, -4:] == 255).all()  # white margin at the right: the text ends inside
    bare = _decode(render.colorbar_png("magma", 0, 1, None))
    assert bare.size[1] < short.size[1]
