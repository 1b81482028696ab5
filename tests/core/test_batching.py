"""BatchedCall: concurrent requests share model calls, each gets its own rows or error."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from latentviz.core.batching import BatchedCall
from latentviz.errors import ArgumentError


def _slow_double(log: list):
    def fn(x: torch.Tensor) -> torch.Tensor:
        log.append((threading.current_thread().name, len(x)))
        if torch.isnan(x).any():
            raise ValueError("NaN row")
        time.sleep(0.05)  # long enough for the other callers to queue up
        return 2 * x

    return fn


def _concurrent(call: BatchedCall, inputs: list[torch.Tensor]) -> list:
    out: list = [None] * len(inputs)
    start = threading.Barrier(len(inputs))

    def worker(i: int) -> None:
        start.wait()
        try:
            out[i] = call(inputs[i])
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=worker, args=(i,), name=f"caller-{i}") for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def test_a_lone_call_runs_on_its_own_thread_unchanged() -> None:
    log: list = []
    call = BatchedCall(_slow_double(log))
    x = torch.arange(6.0).view(3, 2)
    assert torch.equal(call(x), 2 * x)
    assert log == [(threading.current_thread().name, 3)]
    assert call.stats.calls == 1 and call.stats.requests == 1


def test_concurrent_callers_share_batches_and_get_their_own_rows() -> None:
    log: list = []
    call = BatchedCall(_slow_double(log))
    inputs = [torch.full((1 + i % 3, 4), float(i)) for i in range(8)]
    out = _concurrent(call, inputs)
    for x, y in zip(inputs, out, strict=True):
        assert torch.equal(y, 2 * x)
    assert call.stats.requests == 8
    assert call.stats.calls < 8 and call.stats.largest > 1  # batched, not one call each
    assert sum(n for _, n in log) == sum(len(x) for x in inputs)  # every row computed once


def test_a_bad_request_gets_its_error_and_the_others_their_result() -> None:
    call = BatchedCall(_slow_double([]))
    inputs = [torch.ones(2, 3) * i for i in range(6)]
    inputs[3] = torch.full((2, 3), float("nan"))
    out = _concurrent(call, inputs)
    assert isinstance(out[3], ValueError)
    for i in (0, 1, 2, 4, 5):
        assert torch.equal(out[i], 2 * inputs[i])


def test_batches_respect_max_rows() -> None:
    log: list = []
    call = BatchedCall(_slow_double(log), max_rows=4)
    inputs = [torch.ones(2, 1) for _ in range(8)] + [torch.ones(6, 1)]  # 6 > 4: runs alone
    out = _concurrent(call, inputs)
    assert all(isinstance(y, torch.Tensor) for y in out)
    assert max(n for _, n in log) == 6 and all(n <= 4 for _, n in log if n != 6)


def test_max_rows_is_checked() -> None:
    with pytest.raises(ArgumentError, match="max_rows"):
        BatchedCall(lambda x: x, max_rows=0)


def test_sessions_sharing_frame_calls_render_what_they_render_alone(generator, classifier) -> None:
    from latentviz.core.batching import FrameCalls
    from latentviz.core.explorer import ExplorerSession
    from latentviz.directions import sefa

    ds = sefa(generator, k=3)
    shared = FrameCalls(classifier)
    n = 6
    alone = [ExplorerSession(generator, ds, classifier, seed=i) for i in range(n)]
    together = [ExplorerSession(generator, ds, classifier, seed=i, frame_calls=shared) for i in range(n)]
    for i in range(n):
        alone[i].set_value(0, 0.5 * i - 1.0)
        together[i].set_value(0, 0.5 * i - 1.0)
    expected = [s.render() for s in alone]
    frames: list = [None] * n
    start = threading.Barrier(n)

    def drag(i: int) -> None:
        start.wait()
        frames[i] = together[i].render()

    threads = [threading.Thread(target=drag, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for e, f in zip(expected, frames, strict=True):
        np.testing.assert_allclose(f.image, e.image, atol=1e-5)  # batched rows match the lone forward
        assert f.probability == pytest.approx(e.probability, abs=1e-5)
    assert shared.generator(together[0].generator).stats.requests >= n
    # another classifier than the shared one is never batched under this session's name
    other = ExplorerSession(generator, ds, classifier=None, frame_calls=shared)
    assert other.render().probability is None
