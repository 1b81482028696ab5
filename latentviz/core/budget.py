"""A per-session compute budget for the served dashboard: time and memory, enforced on the server.

The option bounds (:mod:`latentviz.bounds`) cap what one explanation may ask for; a budget
caps what one browser session may spend. :class:`ComputeBudget` holds a session's total
compute seconds, the longest one explanation may run and the largest resident memory the
server may reach while it runs. :meth:`ComputeBudget.check` refuses to start once the
session's time is spent; :meth:`ComputeBudget.watch` follows a running explanation on a
watchdog thread and cancels it when it runs too long or the process grows past the memory
cap. Each refusal is a :class:`~latentviz.errors.BudgetExceededError` whose message says
which limit was hit and what to do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from latentviz.core.memory import rss_bytes
from latentviz.errors import BudgetExceededError

__all__ = ["BudgetWatch", "ComputeBudget"]


class BudgetWatch:
    """A running explanation followed by its budget's watchdog (see :meth:`ComputeBudget.watch`)."""

    def __init__(self, budget: ComputeBudget, cancel: Callable[[], object], period: float) -> None:
        self.budget, self._cancel, self._period = budget, cancel, period
        self.t0 = time.monotonic()
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latentviz-budget", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        b = self.budget
        while not self._stop.wait(self._period):
            elapsed = time.monotonic() - self.t0
            rss = rss_bytes() if b.max_rss_bytes is not None else None
            if elapsed > b.explanation_s:
                self.reason = (
                    f"stopped: one explanation may run {b.explanation_s:.0f} s on this server; "
                    "use fewer restarts or steps"
                )
            elif b.used_s + elapsed > b.session_s:
                self.reason = (
                    f"stopped: this session has used its {b.session_s:.0f} s of compute; "
                    "open a new session to go on"
                )
            elif rss is not None and b.max_rss_bytes is not None and rss > b.max_rss_bytes:
                self.reason = (
                    f"stopped: the server reached its memory limit ({b.max_rss_bytes / 2**20:.0f} MB); "
                    "use fewer restarts or steps, or try again when other sessions are done"
                )
            if self.reason is not None:
                self._cancel()
                return

    def stop(self) -> str | None:
        """End the watch, charge the elapsed time to the session, and say why it was cancelled
        (None when the explanation stayed within its budget)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(2)
        self.budget.used_s += time.monotonic() - self.t0
        return self.reason


class ComputeBudget:
    """What one session may spend.

    Parameters
    ----------
    session_s
        Total compute seconds of the session (every explanation's wall time, added up).
    explanation_s
        The longest one explanation may run.
    max_rss_bytes
        The server's resident memory an explanation may not push it past (None: no cap).
    period
        Seconds between the watchdog's checks.

    Examples
    --------
    >>> budget = ComputeBudget(session_s=600, explanation_s=120)
    >>> budget.check()  # raises BudgetExceededError once the 600 s are spent
    >>> budget.remaining_s
    600.0
    """

    def __init__(
        self,
        session_s: float = 900.0,
        explanation_s: float = 300.0,
        max_rss_bytes: int | None = None,
        period: float = 0.25,
    ) -> None:
        self.session_s, self.explanation_s = float(session_s), float(explanation_s)
        self.max_rss_bytes, self.period = max_rss_bytes, float(period)
        self.used_s = 0.0

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.session_s - self.used_s)

    def check(self) -> None:
        """Refuse to start when the session's compute time is spent.

        Raises
        ------
        BudgetExceededError
            With the budget and what to do.
        """
        if self.used_s >= self.session_s:
            raise BudgetExceededError(
                f"this session has used its {self.session_s:.0f} s of compute "
                f"({self.used_s:.0f} s); open a new session to go on"
            )

    def watch(self, cancel: Callable[[], object]) -> BudgetWatch:
        """Follow an explanation that was just started; ``cancel`` stops it."""
        return BudgetWatch(self, cancel, self.period)
