"""Arrays to pictures: colormaps as lookup tables, overlays, windows, PNG/GIF bytes.

Everything here is UI-free and fast enough for the slider hot path: a frame is
mapped to ``uint8`` once, coloured through a 256-entry LUT sampled once per name from
matplotlib's colormap (a single fancy index) and encoded by Pillow at a low
compression level.

Images handled here are model images in ``[-1, 1]`` (``(H, W)``, ``(1, H, W)`` or
``(3, H, W)``) or signed maps (differences, attributions) with an explicit scale.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from latentviz.errors import LatentvizError, ShapeError, UnknownColormapError

__all__ = [
    "COLORMAPS",
    "MAGNITUDE_COLORMAP",
    "SIGNED_COLORMAP",
    "WINDOW_PRESETS",
    "DisplayWindow",
    "apply_colormap",
    "check_colormap",
    "colorbar_png",
    "colormap_lut",
    "colormap_names",
    "contour",
    "draw_contour",
    "gif_bytes",
    "grid",
    "heat_overlay",
    "label_image",
    "label_lines",
    "png_bytes",
    "png_size",
    "probability_label",
    "resolve_window",
    "signed_to_uint8",
    "strip",
    "tick_label",
    "to_numpy",
    "to_uint8",
    "wrap_text",
]


# -- colormaps ---------------------------------------------------------------------------
#: Default colormap of non-negative magnitudes (heat maps, accumulated differences):
#: perceptually uniform, so equal steps in value look like equal steps in colour
#: (jet's bright cyan/yellow bands invent edges; Borland & Taylor 2007). ``"jet"``
#: stays available by name for figures that must match medXGAN's.
MAGNITUDE_COLORMAP = "magma"
#: Default colormap of signed maps (differences, attributions): blue below 0, white at
#: 0 (LUT index 128), red above.
SIGNED_COLORMAP = "RdBu_r"

# Names latentviz used before its colour maps came from matplotlib.
_ALIASES = {"grey": "gray", "diverging": SIGNED_COLORMAP}
_LUTS: dict[str, np.ndarray] = {}


def _matplotlib_colormaps():  # -> matplotlib.cm.ColormapRegistry
    # Imported on first use: loading matplotlib's colour module costs ~0.1 s.
    import matplotlib

    return matplotlib.colormaps


def colormap_names() -> list[str]:
    """Every colormap name :func:`colormap_lut` accepts: matplotlib's registered maps
    (``viridis``, ``magma``, ``RdBu_r``, ``jet``, their ``_r`` reverses, …) and the aliases
    ``grey`` and ``diverging``."""
    return sorted({*_matplotlib_colormaps(), *_ALIASES})


def colormap_lut(name: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 lookup table of matplotlib's colormap ``name``.

    Parameters
    ----------
    name
        A matplotlib colormap name (see :func:`colormap_names`); ``"grey"`` and
        ``"diverging"`` (= ``"RdBu_r"``) are accepted as aliases.

    Returns
    -------
    numpy.ndarray
        Read-only ``(256, 3)`` uint8 table, computed once per name and process.

    Raises
    ------
    UnknownColormapError
        For a name matplotlib does not know (a :class:`~latentviz.errors.OptionError`).

    Examples
    --------
    >>> colormap_lut("viridis").shape
    (256, 3)
    """
    lut = _LUTS.get(name)
    if lut is not None:
        return lut
    registry = _matplotlib_colormaps()
    resolved = _ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(resolved, str) or resolved not in registry:
        raise UnknownColormapError(name, sorted({*registry, *_ALIASES}))
    rgba = registry[resolved].resampled(256)(np.linspace(0.0, 1.0, 256))
    lut = np.round(rgba[:, :3] * 255.0).astype(np.uint8)
    lut.flags.writeable = False
    _LUTS[name] = lut  # idempotent: a race computes the same table twice
    return lut


def check_colormap(name: str) -> str:
    """Return ``name`` if it is a known colormap, else raise :class:`UnknownColormapError`."""
    colormap_lut(name)
    return name


class _ColormapTables(Mapping[str, np.ndarray]):
    """Read-only ``name -> (256, 3) uint8 LUT`` view over matplotlib's colormaps."""

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return colormap_lut(name)
        except UnknownColormapError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(colormap_names())

    def __len__(self) -> int:
        return len(colormap_names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in set(colormap_names())


#: Every colormap by name, as ``(256, 3)`` uint8 lookup tables (built on first lookup).
COLORMAPS: Mapping[str, np.ndarray] = _ColormapTables()


def _lut(name: str) -> np.ndarray:
    return colormap_lut(name)


# -- display windows ---------------------------------------------------------------------
@dataclass(frozen=True)
class DisplayWindow:
    """A display window in modality units (e.g. HU): ``center`` and ``width``."""

    center: float
    width: float

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0


#: Standard CT/MR display windows (center, width) in modality units.
WINDOW_PRESETS: dict[str, DisplayWindow] = {
    "lung": DisplayWindow(-600.0, 1500.0),
    "mediastinum": DisplayWindow(50.0, 350.0),
    "soft-tissue": DisplayWindow(40.0, 400.0),
    "bone": DisplayWindow(400.0, 1800.0),
    "brain": DisplayWindow(40.0, 80.0),
    "abdomen": DisplayWindow(60.0, 400.0),
}


def resolve_window(
    window: str | DisplayWindow | tuple[float, float] | None,
    model_window: tuple[float, float] | None,
) -> tuple[float, float] | None:
    """Turn a display window into a ``(low, high)`` range in model units ``[-1, 1]``.

    Parameters
    ----------
    window
        ``None`` or ``"full"`` (the whole model range), a preset name from
        :data:`WINDOW_PRESETS`, a :class:`DisplayWindow` or a ``(center, width)`` pair in
        modality units.
    model_window
        ``(center, width)`` in modality units that the model's ``[-1, 1]`` range spans
        (the window its training images were scaled with).

    Returns
    -------
    tuple of float or None
        ``None`` means "use ``[-1, 1]``".

    Raises
    ------
    LatentvizError
        For an unknown preset, a non-positive width, or a preset on a model whose
        intensity scale is unknown.
    """
    if window is None or window == "full":
        return None
    if isinstance(window, str):
        if window not in WINDOW_PRESETS:
            raise LatentvizError(
                f"unknown window preset {window!r}; choose one of {['full', *WINDOW_PRESETS]}"
            )
        window = WINDOW_PRESETS[window]
    if not isinstance(window, DisplayWindow):
        window = DisplayWindow(float(window[0]), float(window[1]))
    if window.width <= 0:
        raise LatentvizError(f"a display window needs a positive width, got {window.width}")
    if model_window is None:
        raise LatentvizError(
            "this model does not say which intensity window its images were scaled with, so "
            "modality windows (HU presets) cannot be applied; use window='full'"
        )
    mc, mw = float(model_window[0]), float(model_window[1])
    to_model = lambda v: (v - (mc - mw / 2.0)) / mw * 2.0 - 1.0  # noqa: E731
    return to_model(window.low), to_model(window.high)


# -- conversions -------------------------------------------------------------------------
def to_numpy(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """A float32 numpy array of ``image`` (tensor moved to the CPU, batch axis of 1 dropped)."""
    if isinstance(image, torch.Tensor):
        image = image.detach().to("cpu", torch.float32).numpy()
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[0] != 3):
        raise ShapeError(f"expected an image (H, W), (1, H, W) or (3, H, W); got shape {arr.shape}")
    return arr


def to_uint8(
    image: np.ndarray | torch.Tensor,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Map an image in ``value_range`` (default ``[-1, 1]``) to ``uint8``, clipping outside.

    Returns ``(H, W)`` for grey input and ``(H, W, 3)`` for RGB ``(3, H, W)`` input.
    """
    arr = to_numpy(image)
    lo, hi = value_range if value_range is not None else (-1.0, 1.0)
    if not hi > lo:
        raise LatentvizError(f"value range must have high > low, got {(lo, hi)}")
    scaled = (arr - lo) * (255.0 / (hi - lo))
    np.clip(scaled, 0.0, 255.0, out=scaled)
    out = (scaled + 0.5).astype(np.uint8)
    return np.ascontiguousarray(out.transpose(1, 2, 0)) if out.ndim == 3 else out


def signed_to_uint8(values: np.ndarray | torch.Tensor, scale: float | None = None) -> np.ndarray:
    """Map a signed map to ``uint8`` with 0 at 128 and ``±scale`` at the ends.

    ``scale`` defaults to the largest absolute value (a shared scale across panels is
    the caller's choice: pass it explicitly).
    """
    arr = to_numpy(values)
    if arr.ndim == 3:
        arr = arr.mean(axis=0)
    s = float(np.abs(arr).max()) if scale is None else float(scale)
    s = s if s > 0 else 1.0
    return to_uint8(arr, (-s, s))


def apply_colormap(u8: np.ndarray, name: str = "grey") -> np.ndarray:
    """Colour a ``(H, W)`` uint8 image through the LUT of colormap ``name`` → ``(H, W, 3)`` uint8.

    Raises
    ------
    UnknownColormapError
        For a name matplotlib does not know.
    """
    if u8.dtype != np.uint8 or u8.ndim != 2:
        raise ShapeError(f"apply_colormap takes a (H, W) uint8 image, got {u8.dtype} {u8.shape}")
    return _lut(name)[u8]


def heat_overlay(
    base_u8: np.ndarray,
    heat: np.ndarray | torch.Tensor,
    alpha: float = 0.5,
    scale: float | None = None,
    colormap: str = MAGNITUDE_COLORMAP,
) -> np.ndarray:
    """Blend a non-negative heat map (coloured by ``colormap``) over a grey image.

    Parameters
    ----------
    base_u8
        ``(H, W)`` uint8 grey image.
    heat
        ``(H, W)`` map; absolute values are used, ``[0, scale]`` spans the colormap.
    alpha
        Opacity of the heat map.
    scale
        Value mapped to the top of the colormap (default: the map's maximum).
    colormap
        Matplotlib colormap name (default :data:`MAGNITUDE_COLORMAP`; ``"jet"`` for
        medXGAN's look).
    """
    h = np.abs(to_numpy(heat))
    if h.ndim == 3:
        h = h.mean(axis=0)
    if h.shape != base_u8.shape[:2]:
        raise ShapeError(f"heat map {h.shape} and image {base_u8.shape[:2]} differ in size")
    s = float(h.max()) if scale is None else float(scale)
    heat_rgb = _lut(colormap)[to_uint8(h, (0.0, s if s > 0 else 1.0))].astype(np.float32)
    base = base_u8 if base_u8.ndim == 3 else np.repeat(base_u8[:, :, None], 3, axis=2)
    out = (1.0 - alpha) * base.astype(np.float32) + alpha * heat_rgb
    return (out + 0.5).astype(np.uint8)


def contour(mask: np.ndarray | torch.Tensor) -> np.ndarray:
    """The one-pixel inner boundary of a boolean mask, as a bool ``(H, W)`` array."""
    m = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask).astype(bool)
    m = m.squeeze()
    if m.ndim != 2:
        raise ShapeError(f"a mask must be (H, W), got shape {m.shape}")
    p = np.pad(m, 1, mode="constant", constant_values=False)
    interior = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m & ~interior


def draw_contour(rgb: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """A copy of ``rgb`` ``(H, W, 3)`` with the mask's contour drawn in ``color``."""
    out = np.array(rgb if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2), copy=True)
    out[contour(mask)] = color
    return out


# -- encoding ------------------------------------------------------------------------------
def png_bytes(u8: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode a ``(H, W)`` or ``(H, W, 3)`` uint8 array as PNG (fast, low compression)."""
    if u8.dtype != np.uint8:
        raise ShapeError(f"png_bytes takes uint8 pixels, got {u8.dtype}")
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


_FONTS = threading.local()  # one font cache per thread: FreeType faces are not shared across threads


def _dejavu_path() -> str | None:
    # matplotlib (a dependency) ships DejaVu Sans, which has the true minus, Δ, σ, α and arrows.
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except (ImportError, AttributeError):  # no matplotlib data: Pillow's bundled font
        return None
    return str(path) if path.is_file() else None


def _font(size: int) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """The caption font at ``size`` px and whether it has the non-ASCII symbols."""
    cache = _FONTS.__dict__.setdefault("by_size", {})
    if size not in cache:
        path = _dejavu_path()
        try:
            cache[size] = (ImageFont.truetype(path, size), True) if path else None
        except OSError:
            cache[size] = None
        if cache[size] is None:  # Pillow's bundled font lacks −, Δ, σ: captions fall back to ASCII
            cache[size] = (ImageFont.load_default(size=size), False)
    return cache[size]


_ASCII = str.maketrans({"−": "-", "Δ": "d", "σ": "sd", "→": "->", "α": "a", "≤": "<=", "≥": ">="})


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int) -> None:
    font, unicode_ok = _font(size)
    draw.text(xy, text if unicode_ok else text.translate(_ASCII), fill=(0, 0, 0), font=font)


def _text_width(text: str, size: int) -> float:
    font, unicode_ok = _font(size)
    return font.getlength(text if unicode_ok else text.translate(_ASCII))


def probability_label(classifier: object | None, target: int | None = None) -> str:
    """``"p(<class name>)"`` for ``classifier``'s target (its default when ``target`` is None),
    e.g. ``p(positive)``; ``"p(class k)"`` when the class has no name, ``"p"`` with no classifier."""
    if classifier is None:
        return "p"
    t = getattr(classifier, "target", 1) if target is None else int(target)
    names = list(getattr(classifier, "target_names", None) or ())
    return f"p({names[t]})" if 0 <= t < len(names) else f"p(class {t})"


def tick_label(value: float) -> str:
    """A colour-bar tick: three significant digits, with a true minus sign (U+2212)."""
    txt = f"{value:.3g}"
    return "\u2212" + txt[1:] if txt.startswith("-") else txt


def wrap_text(text: str, width: float, size: int = 11) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` px (a word longer than
    the width gets a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def label_lines(text: str, width: int, scale: int = 1) -> int:
    """How many caption lines :func:`label_image` needs for ``text`` over a ``width`` px image."""
    return len(wrap_text(text, width * scale - 6))


def label_image(
    u8: np.ndarray,
    text: str,
    scale: int = 1,
    footer: str = "",
    lines: int | None = None,
    footer_lines: int | None = None,
) -> np.ndarray:
    """Upscale ``u8`` by ``scale`` (nearest) and add a caption band with ``text`` above it.

    A readable caption needs room: images under 128 px are upscaled so the caption
    font (about 11 px) stays legible. A caption wider than the image wraps onto more lines
    (never clipped). ``footer`` adds a band below. ``lines`` / ``footer_lines`` make each
    band at least that many lines tall, so tiles of one strip keep their images aligned.
    """
    rgb = u8 if u8.ndim == 3 else np.repeat(u8[:, :, None], 3, axis=2)
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    h, w = rgb.shape[:2]
    line = 14
    head = wrap_text(text, w - 6)
    foot = wrap_text(footer, w - 6) if footer else []
    n_head = max(len(head), lines or 0)
    n_foot = max(len(foot), footer_lines or 0) if footer else 0
    top = 2 + line * n_head
    canvas = Image.new("RGB", (w, top + h + (line * n_foot + 2 if footer else 0)), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, top))
    draw = ImageDraw.Draw(canvas)
    for i, t in enumerate(head):
        _text(draw, (3, 2 + i * line), t, 11)
    for i, t in enumerate(foot):
        _text(draw, (3, top + h + 2 + i * line), t, 11)
    return np.asarray(canvas)


def colorbar_png(
    colormap: str,
    low: float,
    high: float,
    label: str | None = None,
    length: int = 256,
    thickness: int = 12,
) -> bytes:
    """A horizontal colour bar of ``colormap`` from ``low`` to ``high`` as PNG bytes.

    It has end and middle ticks (true minus signs) and, when ``label`` is given, the label
    under them; the canvas widens to fit a long label, so nothing is clipped. Front ends that
    lay text out themselves (the dashboard) pass ``label=None`` and put the label in HTML.
    """
    ramp = np.linspace(0, 255, length).astype(np.uint8)
    bar = _lut(colormap)[np.repeat(ramp[None, :], thickness, axis=0)]
    pad = 24
    width = length + 2 * pad
    if label:
        width = max(width, int(_text_width(label, 10)) + pad + 6)
    canvas = Image.new("RGB", (width, thickness + (34 if label else 20)), (255, 255, 255))
    canvas.paste(Image.fromarray(bar), (pad, 2))
    draw = ImageDraw.Draw(canvas)
    for frac, value in ((0.0, low), (0.5, (low + high) / 2), (1.0, high)):
        x = pad + int(frac * (length - 1))
        draw.line([(x, thickness + 2), (x, thickness + 5)], fill=(0, 0, 0))
        txt = tick_label(value)
        _text(draw, (x - _text_width(txt, 10) / 2, thickness + 6), txt, 10)
    if label:
        _text(draw, (pad, thickness + 20), label, 10)
    return png_bytes(np.asarray(canvas))


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of PNG bytes, read from the header (nothing decoded)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        raise ShapeError("not PNG bytes")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _pad_to(u8: np.ndarray, h: int, w: int) -> np.ndarray:
    rgb = u8 if u8.ndim == 3 else np.repeat(u8[:, :, None], 3, axis=2)
    if rgb.shape[:2] == (h, w):
        return rgb
    out = np.full((h, w, 3), 255, dtype=np.uint8)
    out[: rgb.shape[0], : rgb.shape[1]] = rgb
    return out


def strip(tiles: Sequence[np.ndarray], gap: int = 2) -> np.ndarray:
    """Tiles (uint8, grey or RGB) side by side on a white background."""
    if not tiles:
        raise ShapeError("a strip needs at least one tile")
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    out = np.full((h, len(tiles) * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, t in enumerate(tiles):
        out[:, i * (w + gap) : i * (w + gap) + w] = _pad_to(t, h, w)
    return out


def grid(tiles: Sequence[np.ndarray], columns: int, gap: int = 2) -> np.ndarray:
    """Tiles in rows of ``columns`` (the last row padded white)."""
    if columns < 1:
        raise ShapeError(f"columns must be >= 1, got {columns}")
    rows = [strip(tiles[i : i + columns], gap) for i in range(0, len(tiles), columns)]
    w = rows[0].shape[1]
    rows = [_pad_to(r, r.shape[0], w) for r in rows]
    out = np.full((sum(r.shape[0] for r in rows) + gap * (len(rows) - 1), w, 3), 255, dtype=np.uint8)
    y = 0
    for r in rows:
        out[y : y + r.shape[0]] = r
        y += r.shape[0] + gap
    return out


def gif_bytes(frames: Sequence[np.ndarray], duration_ms: int = 120, loop: int = 0) -> bytes:
    """Encode uint8 frames (grey or RGB, same size) as an animated GIF with Pillow."""
    if not frames:
        raise ShapeError("a GIF needs at least one frame")
    shape = frames[0].shape[:2]
    if any(f.shape[:2] != shape for f in frames):
        raise ShapeError("all GIF frames must have the same size")
    images = [Image.fromarray(_pad_to(f, *shape)) for f in frames]
    buf = io.BytesIO()
    images[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=int(duration_ms),
        loop=int(loop),
        optimize=False,
    )
    return buf.getvalue()
