"""Give memory back to the operating system when a session ends.

A served dashboard allocates tens of megabytes per explanation (inversion restarts, IG and
LIG paths, PNG frames). Python and torch free those buffers when a session closes, but glibc's
allocator keeps the freed pages in its arenas (one per worker thread), so the process's RSS
stays at its peak. :func:`release_memory` collects reference cycles, empties torch's device
caches and asks glibc to return free pages (``malloc_trim``); :func:`rss_bytes` measures the
effect. Both are no-ops (or None) where the platform has no such call.

glibc also gives every new thread that contends for the heap an arena of its own, up to eight
per core, and an arena once made is never unmapped: a server whose explanations run on fresh
worker threads grows by one arena's high-water mark per new arena until the cap is reached
(about +100 MB over the first eight sessions on this 2-core machine, then flat).
:func:`limit_malloc_arenas` caps the count (``mallopt(M_ARENA_MAX)``, the run-time form of the
``MALLOC_ARENA_MAX`` environment variable); the dashboard calls it when it loads its models.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import time
from functools import cache

from latentviz.errors import ArgumentError

__all__ = [
    "freeze_long_lived",
    "idle_seconds",
    "limit_malloc_arenas",
    "note_activity",
    "release_memory",
    "rss_bytes",
]

_LAST_ACTIVITY = [-float("inf")]


def note_activity() -> None:
    """Record that a user-facing request (a slider frame) is being served now."""
    _LAST_ACTIVITY[0] = time.monotonic()


def idle_seconds() -> float:
    """Seconds since the last :func:`note_activity` of this process (inf: never)."""
    return time.monotonic() - _LAST_ACTIVITY[0]

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None  # musl has no malloc_trim


def rss_bytes() -> int | None:
    """The process's resident set size in bytes (Linux ``/proc``), or None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> bool:
    """Collect garbage, empty torch's caches and return free heap pages to the OS.

    Returns
    -------
    bool
        True when glibc's ``malloc_trim`` ran and released something.
    """
    gc.collect()
    torch = sys.modules.get("torch")  # never imports torch by itself
    if torch is not None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mps = getattr(torch, "mps", None)
        if mps is not None and torch.backends.mps.is_available():
            mps.empty_cache()
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def freeze_long_lived() -> int:
    """Move every object alive now out of the garbage collector's generations.

    For a server, after it has loaded what it keeps for its whole life (modules, models):
    later collections, which hold the GIL and scale with the objects they scan, then scan
    only what was made since. Frozen objects are never collected, so call this once, before
    any per-session object exists.

    Returns
    -------
    int
        The number of objects frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap the number of glibc malloc arenas at ``n`` for arenas made from now on.

    An explicit ``MALLOC_ARENA_MAX`` in the environment wins: this call then does nothing.

    Returns
    -------
    bool
        True when the cap was set.
    """
    if n < 1:
        raise ArgumentError(f"the number of malloc arenas must be >= 1, got {n}")
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, int(n)))
