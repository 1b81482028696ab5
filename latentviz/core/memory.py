"""Give memory back to the operating system when a session ends.

A served dashboard allocates tens of megabytes per explanation (inversion restarts, IG and
LIG paths, PNG frames). Python and torch free those buffers when a session closes, but glibc's
allocator keeps the freed pages in its arenas (one per worker thread), so the process's RSS
stays at its peak. :func:`release_memory` collects reference cycles, empties torch's device
caches and asks glibc to return free pages (``malloc_trim``); :func:`rss_bytes` measures the
effect. Both are no-ops (or None) where the platform has no such call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from functools import cache

__all__ = ["release_memory", "rss_bytes"]


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
