"""Refuse oversized uploads in the browser, before their bytes travel.

Bokeh's ``FileInput`` reads the chosen file as base64 and sends it in one websocket
message. A file larger than the server's websocket message limit closes the connection
with no word to the user, so the server's own size check (:func:`latentviz.core.upload.read_upload`)
never runs. :class:`UploadGuard` is an invisible component that watches the page's file
inputs carrying a CSS class: when a chosen file is over the limit it clears the input
before Bokeh reads it (the ``input`` event precedes ``change``) and reports only the size
to the server, which shows the same "too large" message as the server-side check. The
session stays alive for any file size.
"""

from __future__ import annotations

from collections.abc import Callable

import param
from panel.custom import JSComponent

__all__ = ["UploadGuard"]


class UploadGuard(JSComponent):
    """An invisible watcher that refuses files over ``max_bytes`` in the browser.

    Parameters
    ----------
    max_bytes
        The upload limit in bytes.
    target_class
        CSS class of the ``FileInput`` (or of one of its ancestors) to guard.

    Examples
    --------
    >>> guard = UploadGuard(max_bytes=2**20, target_class="lv-upload")
    >>> guard.on_refused(lambda size: print(f"refused {size} bytes"))
    """

    max_bytes = param.Integer(default=32 * 2**20, bounds=(1, None), doc="Upload limit in bytes.")
    target_class = param.String(default="lv-upload", doc="CSS class of the guarded file input.")
    refused = param.Integer(default=0, doc="Size in bytes of the last refused file (set by the browser).")
    refusals = param.Integer(default=0, doc="How many files the browser refused (set by the browser).")

    _esm = """
    function guarded(node, cls) {
      for (let n = node; n != null; n = n.parentNode || n.host) {
        if (n.classList != null && n.classList.contains(cls)) return true;
      }
      return false;
    }
    export function render({ model, el }) {
      el.style.display = "none";
      const onInput = (event) => {
        const input = event.composedPath()[0];
        if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
        if (!guarded(input, model.target_class)) return;
        const big = Array.from(input.files || []).find((f) => f.size > model.max_bytes);
        if (big === undefined) return;
        input.value = "";  // Bokeh's change handler then finds no file and sends nothing
        model.refused = big.size;
        model.refusals = model.refusals + 1;
      };
      window.addEventListener("input", onInput, true);
      model.on("remove", () => window.removeEventListener("input", onInput, true));
    }
    """

    def __init__(self, **params) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)

    def on_refused(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(size_in_bytes)`` each time the browser refuses a file."""
        self.param.watch(lambda _: callback(int(self.refused)), "refusals")
