"""Small presentation helpers shared by the dashboard's tabs (no computation)."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import panel as pn

__all__ = [
    "IMAGE_CSS",
    "can_write_mp4",
    "colorbar_block",
    "error_html",
    "image_pane",
    "label",
    "message_html",
    "primary",
    "video_download",
]

#: Model images are small (64 px): the browser upscales them without smoothing.
PIXELATED = "image-rendering: pixelated;"
IMAGE_CSS = f"img {{ {PIXELATED} }}"


def image_pane(png: bytes | None, width: int, css_class: str, visible: bool = True) -> pn.pane.PNG:
    """A PNG pane of ``width`` pixels, square, pixelated, with a stable CSS class for tests.

    Its outline is drawn inside the box (an inset shadow, not a border), so a pane is exactly
    ``width`` wide and its right edge is never clipped by the column that holds it.
    """
    return pn.pane.PNG(
        png,
        width=width,
        height=width,
        css_classes=[css_class],
        stylesheets=[f":host {{ {PIXELATED} box-shadow: inset 0 0 0 1px #ccc; }} {IMAGE_CSS}"],
        visible=visible,
    )


def colorbar_block(png: bytes | None, text: str, css_class: str, visible: bool = True) -> pn.Column:
    """A colour-bar ramp (PNG, ticks only) with its label as HTML text under it.

    The browser lays the label out, so it wraps instead of being clipped; its element has
    the class ``lv-colorbar-label`` (the browser tests read it).
    """
    return pn.Column(
        pn.pane.PNG(png, css_classes=["lv-colorbar", css_class]),
        pn.pane.HTML(
            f"<span class='lv-colorbar-label'>{html.escape(text)}</span>",
            css_classes=[f"{css_class}-label"],
            width=300,
        ),
        visible=visible,
        css_classes=[f"{css_class}-block"],
    )


def error_html(text: str) -> str:
    """``text`` as a red, escaped error line."""
    return f"<span class='lv-error' style='color:#b00020;font-weight:bold'>{html.escape(text)}</span>"


def message_html(text: str) -> str:
    """``text`` as an escaped status line."""
    return f"<span style='color:#333'>{html.escape(text)}</span>"


def label(text: str) -> dict[str, str]:
    """Keyword for a widget's label: ``label=`` where Panel has it (``name=`` is deprecated
    there), ``name=`` on older Panel releases."""
    return {"label": text} if "label" in pn.widgets.Widget.param else {"name": text}


def primary(widget: type = pn.widgets.Button) -> dict[str, str]:
    """Keyword that colours a button as the primary action (``color=`` on newer Panel,
    ``button_type=`` on older releases)."""
    return {"color": "primary"} if "color" in widget.param else {"button_type": "primary"}


def can_write_mp4() -> bool:
    """True when the MP4 writer (the ``video`` extra, imageio-ffmpeg) is installed."""
    import importlib.util

    return importlib.util.find_spec("imageio_ffmpeg") is not None


def video_download(export: Callable[[Path], Path], suffix: str = ".mp4") -> bytes:
    """The bytes of ``export(path)`` (a session's ``export_video``) written to a private
    temporary file, for a download button."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return export(Path(tmp) / f"animation{suffix}").read_bytes()
