"""A picture of a widget's current state beside its live view in the notebook's output.

A saved notebook keeps a widget's output as ``application/vnd.jupyter.widget-view+json``,
which only a live Jupyter frontend with the widget manager can draw: nbviewer, GitHub, a VS
Code session without it and exported HTML fall back to ``text/plain``. The mixin adds an
``image/png`` of the state at display time, and a readable ``text/plain``, so the picture stays
visible wherever the notebook is opened; frontends that can draw the widget still prefer it.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from latentviz.core import render
from latentviz.errors import LatentvizError

__all__ = ["StaticFallback", "captioned", "decode_png"]


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes → ``(H, W)`` or ``(H, W, 3)`` uint8 pixels."""
    img = Image.open(io.BytesIO(data))
    return np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)


class StaticFallback:
    """Mixin for latentviz widgets: ``image/png`` and ``text/plain`` of the current state.

    Subclasses implement :meth:`to_png` (None when there is nothing to show yet) and
    :meth:`describe` (one line).
    """

    def to_png(self) -> bytes | None:
        """The widget's current state as one PNG (None: nothing to show yet)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what the widget shows."""
        return type(self).__name__

    def picture(self) -> Any:
        """An ``IPython.display.Image`` of the current state (keep a copy in the notebook)."""
        from IPython.display import Image as IPImage

        png = self.to_png()
        if png is None:
            raise LatentvizError(f"{type(self).__name__} has nothing to show yet (run it first)")
        return IPImage(data=png, format="png")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self.describe()
        try:
            png = self.to_png()
        except LatentvizError as exc:  # the live view still works: say why there is no picture
            bundle["text/plain"] += f" (no picture: {exc})"
            return bundle
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


def captioned(png: bytes, caption: str) -> np.ndarray:
    """Decoded ``png`` with ``caption`` in a band above it (small images upscaled)."""
    u8 = decode_png(png)
    return render.label_image(u8, caption, scale=max(1, 256 // max(1, u8.shape[1])))
