"""The per-session compute budget: time and memory, enforced on the server (issue 14, item 4)."""

from __future__ import annotations

import threading
import time

import pytest

from latentviz.core.budget import ComputeBudget
from latentviz.errors import BudgetExceededError, LatentvizError


def test_a_spent_session_is_refused_with_a_clear_message() -> None:
    budget = ComputeBudget(session_s=1.0)
    budget.check()
    budget.used_s = 1.5
    with pytest.raises(BudgetExceededError, match=r"used its 1 s of compute .*open a new session"):
        budget.check()
    assert issubclass(BudgetExceededError, LatentvizError) and budget.remaining_s == 0.0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"explanation_s": 0.1}, "one explanation may run"),
        ({"session_s": 0.1}, "used its 0 s of compute"),
        ({"max_rss_bytes": 1}, "memory limit"),
    ],
)
def test_the_watchdog_cancels_a_run_past_its_budget(kwargs, needle) -> None:
    cancelled = threading.Event()
    budget = ComputeBudget(period=0.02, **kwargs)
    watch = budget.watch(cancelled.set)
    assert cancelled.wait(5)
    reason = watch.stop()
    assert reason is not None and needle in reason
    assert budget.used_s > 0


def test_a_run_within_budget_is_charged_and_not_cancelled() -> None:
    cancelled = threading.Event()
    budget = ComputeBudget(session_s=60, explanation_s=60, period=0.01)
    watch = budget.watch(cancelled.set)
    time.sleep(0.05)
    assert watch.stop() is None and not cancelled.is_set()
    assert 0.04 < budget.used_s < 5
