"""Hand results computed on worker threads back to a browser session's event loop.

Bokeh documents may only be changed on their own event loop; ``add_next_tick_callback``
is the one document method that is safe to call from another thread. :class:`UiThread`
wraps that for a session's views. Without a served document (unit tests, a notebook)
the update runs at once on the calling thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

__all__ = ["UiThread"]


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
            self.doc.add_next_tick_callback(partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Drop later updates (the browser session ended)."""
        self._closed.set()
