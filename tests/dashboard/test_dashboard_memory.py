"""A closed session gives its memory back (issue 14, item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from latentviz.core.memory import release_memory, rss_bytes
from latentviz.dashboard.app import DashboardSession
from latentviz.errors import ArgumentError

LIGHT = {"restarts": 1, "steps": 3, "refine": 0, "ig_steps": 4, "lig_steps": 4}


def test_closing_a_session_releases_memory(resources, monkeypatch) -> None:
    import latentviz.dashboard.app as app

    calls: list[int] = []
    monkeypatch.setattr(app, "RELEASE_DELAY_S", 0.01)
    monkeypatch.setattr(app, "RELEASE_IDLE_S", 0.01)
    monkeypatch.setattr(app, "_RELEASES", app._Releases(lambda: calls.append(1)))
    DashboardSession(resources).close()
    assert calls == []  # not while the page may still be tearing down
    time.sleep(0.3)
    assert len(calls) == 1  # after the delay


def test_a_burst_of_closes_shares_one_release(resources, monkeypatch) -> None:
    """A release collects garbage under the GIL (a pause for every session): Bokeh drops
    unused sessions in batches, and five closes at once must not pause the server ten times."""
    import latentviz.dashboard.app as app

    calls: list[int] = []
    monkeypatch.setattr(app, "RELEASE_DELAY_S", 0.2)
    monkeypatch.setattr(app, "RELEASE_IDLE_S", 0.01)
    monkeypatch.setattr(app, "_RELEASES", app._Releases(lambda: calls.append(1)))
    sessions = [DashboardSession(resources) for _ in range(5)]
    for s in sessions:
        s.close()
    time.sleep(0.6)
    assert len(calls) == 1  # one release for all five


def test_the_release_waits_while_a_slider_is_dragged(resources, monkeypatch) -> None:
    import threading

    import latentviz.dashboard.app as app
    from latentviz.core.memory import note_activity

    calls: list[float] = []
    monkeypatch.setattr(app, "RELEASE_DELAY_S", 0.05)
    monkeypatch.setattr(app, "RELEASE_IDLE_S", 0.2)
    monkeypatch.setattr(app, "_RELEASES", app._Releases(lambda: calls.append(time.monotonic())))
    stop = threading.Event()

    def drag() -> None:
        while not stop.wait(0.02):
            note_activity()

    t = threading.Thread(target=drag)
    t.start()
    DashboardSession(resources).close()
    time.sleep(0.6)
    assert calls == []  # frames are being asked for: no GIL pause now
    stop.set()
    t.join()
    end = time.monotonic()
    time.sleep(0.6)
    assert len(calls) == 1 and calls[0] - end >= 0.15  # once the server went idle
    # under endless dragging it still runs, after RELEASE_MAX_DELAY_S
    monkeypatch.setattr(app, "RELEASE_MAX_DELAY_S", 0.3)
    stop.clear()
    t = threading.Thread(target=drag)
    t.start()
    try:
        DashboardSession(resources).close()
        time.sleep(0.8)
        assert len(calls) == 2
    finally:
        stop.set()
        t.join()


def test_freezing_the_long_lived_objects_takes_them_out_of_collections() -> None:
    import gc

    from latentviz.core.memory import freeze_long_lived

    try:
        assert freeze_long_lived() > 0 and gc.get_freeze_count() > 0
        junk = [[i] for i in range(1000)]
        tracked = len(gc.get_objects())
        assert tracked < gc.get_freeze_count()  # collections now scan what was made since
        del junk
    finally:
        gc.unfreeze()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS and malloc_trim are Linux's")
def test_rss_is_measured_and_released() -> None:
    junk = [bytearray(1 << 16) for _ in range(800)]  # 50 MB of small blocks on the heap
    before = rss_bytes()
    del junk
    assert release_memory() is True
    after = rss_bytes()
    assert before is not None and after is not None and after < before


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS and malloc arenas are glibc's")
def test_rss_stays_flat_over_open_explain_close_cycles() -> None:
    # In a fresh interpreter, as a server is: this test process has made its own arenas already.
    code = (
        "import json; from latentviz.bench.dashboard import session_cycles_rss; "
        f"print(json.dumps(session_cycles_rss(10, {LIGHT!r})))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MALLOC_ARENA_MAX", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    mem = json.loads(out.stdout.strip().splitlines()[-1])
    print("RSS over cycles (MB):", [round(m) for m in mem])
    # Without the arena cap each new worker-thread arena added ~20 MB up to cycle 8 (+95 MB).
    assert max(mem[4:]) - mem[2] < 40, mem


def test_arena_cap_is_validated_and_defers_to_the_environment(monkeypatch) -> None:
    from latentviz.core.memory import limit_malloc_arenas

    with pytest.raises(ArgumentError, match="arenas"):
        limit_malloc_arenas(0)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False
