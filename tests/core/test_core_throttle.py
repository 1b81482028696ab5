from __future__ import annotations

import threading

import pytest

from latentviz.core.throttle import LatestWinsWorker


def test_drops_intermediate_requests_and_renders_the_last() -> None:
    gate, started = threading.Event(), threading.Event()
    computed: list[int] = []
    delivered: list[tuple[int, int]] = []

    def compute(x: int) -> int:
        if x == 0:
            started.set()
            gate.wait(5.0)  # hold the worker busy while more requests arrive
        computed.append(x)
        return x * 10

    w = LatestWinsWorker(compute, lambda req, res: delivered.append((req, res)))
    w.submit(0)
    assert started.wait(5.0)  # the worker has taken request 0
    for i in range(1, 50):
        w.submit(i)
    gate.set()
    assert w.wait_idle(5.0)
    assert computed == [0, 49]
    assert delivered[-1] == (49, 490)
    assert w.stats.submitted == 50 and w.stats.dropped == 48 and w.stats.computed == 2
    w.close()


def test_errors_reach_the_error_callback_and_the_worker_survives() -> None:
    errors: list[BaseException] = []
    results: list[int] = []

    def compute(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    w = LatestWinsWorker(compute, lambda r, v: results.append(v), lambda r, e: errors.append(e))
    w.submit(-1)
    assert w.wait_idle(5.0)
    w.submit(3)
    assert w.wait_idle(5.0)
    assert isinstance(errors[0], ValueError) and results == [3] and w.stats.failed == 1
    w.close()


def test_closed_worker_refuses_work() -> None:
    w = LatestWinsWorker(lambda x: x)
    w.submit(1)
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.submit(2)
