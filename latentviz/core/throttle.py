"""A latest-wins compute worker: one background thread per session.

Slider drags fire many events; rendering each of them queues a backlog. The worker
keeps at most one *pending* request: :meth:`LatestWinsWorker.submit` replaces it, so
intermediate requests are dropped, while the last request is always computed (the
same rule as HoloViews' throttled streams). Results reach the caller through a
callback, on the worker thread; a front end forwards them to its own event loop
(ipywidgets can set trait values from any thread; Panel schedules with
``doc.add_next_tick_callback``). No UI library is imported here.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["LatestWinsWorker", "WorkerStats"]

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass
class WorkerStats:
    """Counts kept by a worker: requests ``submitted``, ``computed``, ``dropped``, ``failed``."""

    submitted: int = 0
    computed: int = 0
    dropped: int = 0
    failed: int = 0


class LatestWinsWorker(Generic[Req, Res]):
    """Run ``compute(request)`` on a background thread, newest request first.

    Parameters
    ----------
    compute
        The work, ``request -> result``.
    on_result
        Called with ``(request, result)`` after each computed request.
    on_error
        Called with ``(request, exception)`` when ``compute`` raises; without it the
        traceback is printed and the worker keeps running.
    name
        Thread name (for debugging).

    Examples
    --------
    >>> out = []
    >>> w = LatestWinsWorker(lambda x: x * 2, lambda req, res: out.append(res))
    >>> w.submit(1); w.submit(2); w.wait_idle(5.0)
    True
    >>> out[-1]
    4
    >>> w.close()
    """

    def __init__(
        self,
        compute: Callable[[Req], Res],
        on_result: Callable[[Req, Res], Any] | None = None,
        on_error: Callable[[Req, BaseException], Any] | None = None,
        name: str = "latentviz-worker",
    ) -> None:
        self._compute = compute
        self._on_result = on_result
        self._on_error = on_error
        self._name = name
        self._cond = threading.Condition()
        self._pending: tuple[Req] | None = None  # a 1-tuple so None is a valid request
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.stats = WorkerStats()
        self.last_request: Req | None = None
        self.last_result: Res | None = None

    def submit(self, request: Req) -> None:
        """Queue ``request``, replacing any request not yet started."""
        with self._cond:
            if self._closed:
                raise RuntimeError("submit() on a closed worker")
            if self._pending is not None:
                self.stats.dropped += 1
            self._pending = (request,)
            self.stats.submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    @property
    def idle(self) -> bool:
        """True when nothing is pending or running."""
        with self._cond:
            return self._pending is None and not self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the worker is idle; returns False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        """Drop any pending request and stop the thread (the running one finishes)."""
        with self._cond:
            self._closed = True
            if self._pending is not None:
                self.stats.dropped += 1
            self._pending = None
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:  # closed with nothing to do
                    return
                (request,) = self._pending
                self._pending = None
                self._busy = True
            try:
                result = self._compute(request)
            except BaseException as exc:
                self.stats.failed += 1
                if self._on_error is not None:
                    self._safe(self._on_error, request, exc)
                else:
                    traceback.print_exception(exc)
            else:
                self.stats.computed += 1
                self.last_request, self.last_result = request, result
                if self._on_result is not None:
                    self._safe(self._on_result, request, result)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a broken callback must not kill the worker
            traceback.print_exception(exc)

    def __enter__(self) -> LatestWinsWorker[Req, Res]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
