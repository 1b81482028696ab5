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
