"""A closed session gives its memory back (issue 14, item 5)."""

from __future__ import annotations

import sys
import time

import pytest

from latentviz.core.memory import release_memory, rss_bytes
from latentviz.dashboard.app import DashboardSession

LIGHT = {"restarts": 1, "steps": 3, "refine": 0, "ig_steps": 4, "lig_steps": 4}


def test_closing_a_session_releases_memory(resources, monkeypatch) -> None:
    import latentviz.dashboard.app as app

    calls: list[int] = []
    monkeypatch.setattr(app, "release_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(app, "RELEASE_DELAY_S", 0.01)
    DashboardSession(resources).close()
    time.sleep(0.3)
    assert len(calls) == 2  # at once, and again after the delay


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS and malloc_trim are Linux's")
def test_rss_is_measured_and_released() -> None:
    junk = [bytearray(1 << 16) for _ in range(800)]  # 50 MB of small blocks on the heap
    before = rss_bytes()
    del junk
    assert release_memory() is True
    after = rss_bytes()
    assert before is not None and after is not None and after < before


@pytest.mark.slow
def test_rss_stays_flat_over_open_explain_close_cycles() -> None:
    from latentviz.bench.dashboard import session_cycles_rss

    mem = session_cycles_rss(6, LIGHT)
    print("RSS over cycles (MB):", [round(m) for m in mem])
    assert mem[-1] - mem[2] < 48, mem
