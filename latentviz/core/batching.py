"""One model call for the concurrent requests of many sessions.

Served to several collaborators, every dashboard session renders its own slider frames on its
own worker thread. Called concurrently, the generator's forward passes fight for the same
cores (each with its own intra-op threads) and a frame of one session waits behind the
others in the operating system's scheduler. :class:`BatchedCall` instead lets one thread, the
*leader*, run the model on every request that is waiting, concatenated along the batch axis,
and hands each caller its rows. Nothing waits on purpose: a request that arrives while a batch
runs goes into the next one, so a lone session gets exactly the call it had before (its
request alone, on its own thread), and eight sessions dragging at once share a few batched
forwards instead of eight contending ones.

Examples
--------
>>> import torch
>>> double = BatchedCall(lambda x: 2 * x)
>>> double(torch.ones(2, 3)).shape
torch.Size([2, 3])
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import torch

from latentviz.errors import ArgumentError

__all__ = ["BatchStats", "BatchedCall", "FrameCalls"]


@dataclass
class BatchStats:
    """Counts of a :class:`BatchedCall`: requests, model calls, the largest batch (requests)."""

    requests: int = 0
    calls: int = 0
    largest: int = 0


class _Request:
    __slots__ = ("error", "event", "lead", "result", "x")

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x
        self.event = threading.Event()
        self.lead = False
        self.result: torch.Tensor | None = None
        self.error: BaseException | None = None


class BatchedCall:
    """Coalesce concurrent calls of a row-wise function into one call per batch.

    Parameters
    ----------
    fn
        ``(N, …) -> (N, …)`` with row ``i`` of the output depending on row ``i`` of the
        input only (a generator's or a classifier's forward pass in inference mode).
    max_rows
        Most rows of one call; a request larger than this still runs, alone.

    Notes
    -----
    A leader takes the waiting requests in arrival order up to ``max_rows``, runs ``fn`` on
    them outside the lock, and then passes leadership to the oldest request still waiting,
    so it returns as soon as its own batch is done. When a batch of several requests fails,
    each is retried alone, so one bad request gets its own error and the others their result.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], max_rows: int = 32) -> None:
        if int(max_rows) < 1:
            raise ArgumentError(f"max_rows must be >= 1, got {max_rows}")
        self.fn = fn
        self.max_rows = int(max_rows)
        self.stats = BatchStats()
        self._lock = threading.Lock()
        self._queue: deque[_Request] = deque()
        self._leader = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        req = _Request(x)
        with self._lock:
            self.stats.requests += 1
            self._queue.append(req)
            lead = not self._leader
            if lead:
                self._leader = True
        if not lead:
            req.event.wait()
        if req.lead or lead:
            self._serve()
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    def _serve(self) -> None:
        """Run one batch (this thread is the leader), then hand the lead on."""
        with self._lock:
            batch = [self._queue.popleft()]
            rows = len(batch[0].x)
            while self._queue and rows + len(self._queue[0].x) <= self.max_rows:
                rows += len(self._queue[0].x)
                batch.append(self._queue.popleft())
            self.stats.calls += 1
            self.stats.largest = max(self.stats.largest, len(batch))
        try:
            self._run(batch)
        finally:
            with self._lock:
                if self._queue:
                    nxt = self._queue[0]
                    nxt.lead = True
                    nxt.event.set()
                else:
                    self._leader = False
            for r in batch:
                r.event.set()

    def _run(self, batch: list[_Request]) -> None:
        if len(batch) == 1:
            self._one(batch[0])
            return
        try:
            out = self.fn(torch.cat([r.x for r in batch]))
        except Exception:  # retried one by one, each keeps its own error
            for r in batch:
                self._one(r)
            return
        except BaseException as exc:  # an interrupt: every waiting caller gets it
            for r in batch:
                r.error = exc
            raise
        start = 0
        for r in batch:
            r.result = out[start : start + len(r.x)]
            start += len(r.x)

    def _one(self, r: _Request) -> None:
        try:
            r.result = self.fn(r.x)
        except BaseException as exc:
            r.error = exc


class FrameCalls:
    """The forward passes that every explorer session of a process shares.

    One :class:`BatchedCall` per generator view (model weights and latent space: a
    style-based model's explorer runs in the space of its direction set) and one for the
    classifier's probability. Latents and images passed here come from checked state (the
    ``*_trusted`` forwards of :class:`~latentviz.models.Generator` and
    :class:`~latentviz.models.Classifier`).

    Parameters
    ----------
    classifier
        The classifier whose probabilities are batched (None: none).
    max_rows
        Most rows of one batched call.
    """

    def __init__(self, classifier: object | None = None, max_rows: int = 64) -> None:
        self.classifier = classifier
        self.max_rows = int(max_rows)
        self._lock = threading.Lock()
        self._generators: dict[tuple[int, str], tuple[object, BatchedCall]] = {}
        self.probability: BatchedCall | None = None
        if classifier is not None:

            def probability(x: torch.Tensor) -> torch.Tensor:
                with torch.inference_mode():  # the leader may be another session's thread
                    return classifier.probability_trusted(x)  # type: ignore[attr-defined]

            self.probability = BatchedCall(probability, self.max_rows)

    def generator(self, generator: object) -> BatchedCall:
        """The shared batched forward of ``generator`` (created on first use)."""
        key = (id(getattr(generator, "module", generator)), str(getattr(generator, "latent_space", "")))
        with self._lock:
            entry = self._generators.get(key)
            if entry is None:

                def render(z: torch.Tensor) -> torch.Tensor:
                    with torch.inference_mode():
                        return generator.forward_trusted(z)  # type: ignore[attr-defined]

                # the view is kept alive with its call, so its id cannot be reused
                entry = self._generators[key] = (generator, BatchedCall(render, self.max_rows))
            return entry[1]
