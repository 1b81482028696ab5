"""Hand results computed on worker threads back to a browser session's event loop.

Bokeh documents may only be changed on their own event loop; ``add_next_tick_callback``
is the one document method that is safe to call from another thread. :class:`UiThread`
wraps that for a session's views. Without a served document (unit tests, a notebook)
the update runs at once on the calling thread.

Panel 1.9 writes a served document's changes straight to the websocket, and when two of
its write tasks race it can leave a patch queued and unsent (``panel.io.document.
_dispatch_msgs`` clears the document's write block while a second task is still queued;
that task then returns without sending). Under load this lost a session's first slider
frame now and then. After each update, :class:`UiThread` looks once more a moment later
and sends what is still queued (:func:`flush_stuck_patches`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

__all__ = ["FLUSH_DELAY_S", "UiThread", "flush_stuck_patches"]

#: How long after an update :class:`UiThread` checks for patches Panel left unsent.
FLUSH_DELAY_S = 0.2


class UiThread:
    """Schedule view updates of one browser session.

    Parameters
    ----------
    doc
        The session's Bokeh document (``pn.state.curdoc`` when the app is built), or None.
    """

    def __init__(self, doc: Any = None) -> None:
        self.doc = doc if doc is not None and getattr(doc, "session_context", None) else None
        self._closed = threading.Event()

    @property
    def served(self) -> bool:
        """True when updates go through a served document's event loop."""
        return self.doc is not None

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on the session's event loop (now, without one)."""
        if self._closed.is_set():
            return  # the page is gone: nothing left to update
        if self.doc is None:
            fn(*args, **kwargs)
        else:
            self.doc.add_next_tick_callback(partial(_update, self.doc, fn, args, kwargs))

    def close(self) -> None:
        """Drop later updates (the browser session ended)."""
        self._closed.set()


def _update(doc: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """Run ``fn`` on the document's loop, then look for unsent patches a moment later."""
    try:
        fn(*args, **kwargs)
    finally:
        try:
            asyncio.get_running_loop().call_later(FLUSH_DELAY_S, flush_stuck_patches, doc)
        except RuntimeError:  # no running loop (called by hand): nothing is being written
            pass


def flush_stuck_patches(doc: Any) -> bool:
    """Send the patches Panel queued for ``doc`` but no write task will send; True if any.

    Panel keeps a document's queued messages in ``_WRITE_MSGS`` while a write task holds
    ``_WRITE_BLOCK``; queued messages with no block left have no task to send them.
    """
    try:
        from panel.io import document as pdoc

        queued, block, dispatch = pdoc._WRITE_MSGS, pdoc._WRITE_BLOCK, pdoc._dispatch_msgs
        schedule = pdoc._dispatch_write_task
    except (ImportError, AttributeError):  # another Panel: nothing of this kind to mend
        return False
    if not queued.get(doc) or doc in block:
        return False
    block[doc] = True
    schedule(doc, dispatch, doc)
    return True
