"""One browser session of the dashboard: three tabs (four with a results store) over
one set of core sessions.

:func:`app_factory` returns the callable Panel serves: every browser session calls it
once and gets its own :class:`DashboardSession` (its own explorer, explanation and
interpolation state and worker threads) over the process's shared
:class:`~latentviz.dashboard.resources.Resources`. The session's workers stop when the
browser session is destroyed.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable

import holoviews as hv
import panel as pn

from latentviz.core.memory import idle_seconds, release_memory
from latentviz.dashboard.directions_tab import DirectionsTab
from latentviz.dashboard.dispatch import UiThread
from latentviz.dashboard.explain_tab import ExplainTab
from latentviz.dashboard.interpolation_tab import InterpolationTab
from latentviz.dashboard.resources import Resources

__all__ = ["DashboardSession", "app_factory"]

hv.extension("bokeh", logo=False)

#: Seconds after a session closes when the memory of it (and of the sessions that closed
#: meanwhile) is released, once the server is idle (:class:`_Releases`).
RELEASE_DELAY_S = 5.0
#: The release waits for this many seconds without a slider frame ...
RELEASE_IDLE_S = 1.0
#: ... but no longer than this after the close.
RELEASE_MAX_DELAY_S = 60.0


class DashboardSession:
    """The three tabs of one browser session.

    Parameters
    ----------
    resources
        The process's shared models and directions.
    doc
        The session's Bokeh document (None outside a server: updates then run at once).
    """

    def __init__(self, resources: Resources, doc: object = None) -> None:
        self.resources = resources
        self.ui = UiThread(doc)
        self.directions = DirectionsTab(resources, self.ui)
        self.interpolation = InterpolationTab(resources, self.ui, self.directions.session)
        self.explain = ExplainTab(resources, self.ui, on_explained=self.interpolation.follow_explanation)
        self.tabs = pn.Tabs(
            ("Directions", self.directions.panel),
            ("Explain", self.explain.panel),
            ("Interpolation", self.interpolation.panel),
            css_classes=["lv-tabs"],
            dynamic=True,  # a tab's plots are built when it is first shown: light page loads
        )
        self.atlas = None
        if resources.atlas is not None:  # `latentviz serve --store`: the cohort's latent atlas
            from latentviz.dashboard.atlas import AtlasTab

            self.atlas = AtlasTab(resources.atlas, resources.generator, resources.session_classifier())
            self.tabs.append(("Atlas", self.atlas.panel))
        self.tabs.param.watch(self._on_tab, "active")
        g, c = resources.generator, resources.classifier
        clf = html.escape(c.name) if c is not None else "none"
        ae = resources.autoencoder
        ae_text = f"autoencoder <b>{html.escape(ae.name)}</b> · " if ae is not None else ""
        header = pn.pane.HTML(
            f"<h2 style='margin:4px 0'>latentviz</h2><span>generator <b>{html.escape(g.name)}</b> · "
            f"classifier <b>{clf}</b> · {ae_text}{len(resources.directions.directions)} directions "
            f"({html.escape(resources.directions.method)})</span>",
            css_classes=["lv-header"],
        )
        self.layout = pn.Column(header, self.tabs, sizing_mode="stretch_width", css_classes=["lv-app"])

    def _on_tab(self, event: object) -> None:
        if self.tabs.active == 2 and self.interpolation.session is None and self.interpolation.idle:
            self.interpolation.compute()  # the first path, when the player is first shown

    def close(self) -> None:
        """Stop every worker of the session and give its memory back to the OS.

        The release runs :data:`RELEASE_DELAY_S` later, when a cancelled explanation has
        ended and the server has dropped the session's document, and waits for a moment
        when no slider is being dragged; sessions that close meanwhile share it
        (:class:`_Releases`).
        """
        self.ui.close()
        self.directions.close()
        self.explain.close()
        self.interpolation.close()
        _RELEASES.after_close()


class _Releases:
    """Memory releases after sessions close: one per burst of closes, while nobody drags.

    A release collects garbage, which holds the GIL and so pauses every other session's
    frames (0.1-0.3 s with several sessions open). It runs :data:`RELEASE_DELAY_S` after the
    first close of a burst (a cancelled explanation has ended, Bokeh has dropped the
    documents; closes meanwhile share it), and then waits until no slider frame was asked
    for during :data:`RELEASE_IDLE_S`, at most :data:`RELEASE_MAX_DELAY_S` in all.
    """

    def __init__(self, release: Callable[[], object] | None = None) -> None:
        self._release_fn = release
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._since = 0.0

    def after_close(self) -> None:
        with self._lock:
            if self._timer is None:
                self._since = time.monotonic()
                self._start(RELEASE_DELAY_S)

    def _start(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._release)
        self._timer.daemon = True
        self._timer.start()

    def _release(self) -> None:
        with self._lock:
            waited = time.monotonic() - self._since
            if idle_seconds() < RELEASE_IDLE_S and waited < RELEASE_MAX_DELAY_S:
                self._start(RELEASE_IDLE_S / 2)  # someone is dragging: try again shortly
                return
            self._timer = None
        (self._release_fn or release_memory)()


_RELEASES = _Releases()


def app_factory(resources: Resources) -> Callable[[], pn.viewable.Viewable]:
    """The callable that Panel serves: one :class:`DashboardSession` per browser session."""

    def app() -> pn.viewable.Viewable:
        doc = pn.state.curdoc
        session = DashboardSession(resources, doc)
        pn.state.on_session_destroyed(lambda _context: session.close())
        if doc is not None:
            doc.title = "latentviz"
        return session.layout

    return app
