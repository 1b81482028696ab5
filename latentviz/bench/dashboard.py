"""Load benchmark of the dashboard: N concurrent browser sessions moving sliders.

A real ``latentviz serve`` (the default zoo) runs on loopback in a child process. N
headless Chromium pages (one browser context each, so N server sessions) open the app
one after the other; then, all at once, each moves the first direction slider
``events`` times: set the slider model's value, wait until the image model holds the
new frame, think for ``think_ms``, repeat. Latency is taken inside each page
(``performance.now()``) from the value change to the new frame's arrival: the server's
queueing, the render on its worker thread, the hand-back to the event loop and both
websocket hops. The server's resident memory is sampled throughout. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from latentviz.bench.harness import Row
from latentviz.errors import LatentvizError

__all__ = ["AREA", "CHROMIUM", "SESSIONS", "rows", "session_cycles_rss", "session_latencies"]

#: Concurrent browser sessions of the load rows (issue 14, item 8).
SESSIONS = (1, 4, 8)

AREA = "dashboard"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
]

_MODELS = "[...window.Bokeh.documents[0].all_models]"
_HAS = "const has = (m, c) => (m.css_classes || []).includes(c);"
READY_JS = (
    f"() => {{ if (!window.Bokeh || !window.Bokeh.documents.length) return false; {_HAS}"
    f" const img = {_MODELS}.find((m) => has(m, 'lv-frame'));"
    " return !!(img && img.text && img.text.length > 100); }"
)
# One session's slider events, timed in the page. Values never repeat (no frame-cache hits).
MEASURE_JS = f"""async ({{events, think, timeout}}) => {{ {_HAS}
  const models = {_MODELS};
  const slider = models.find((m) => has(m, 'lv-direction-slider'));
  const img = models.find((m) => has(m, 'lv-frame'));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = [];
  for (let i = 0; i < events; i++) {{
    const old = img.text;
    const arrived = new Promise((resolve) => {{
      const timer = setTimeout(() => resolve(false), timeout);
      const slot = () => {{ if (img.text !== old) {{
        clearTimeout(timer); img.properties.text.change.disconnect(slot); resolve(true); }} }};
      img.properties.text.change.connect(slot);
    }});
    const t0 = performance.now();
    slider.value = Math.round(10 * (-4.5 + (9.0 * i) / events)) / 10;
    out.push((await arrived) ? performance.now() - t0 : null);
    await sleep(think);
  }}
  return out;
}}"""


class _RssSampler:
    """Peak resident memory (MB) of a process, sampled every ``period`` seconds."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period,), daemon=True)

    def now(self) -> float:
        return self._proc.memory_info().rss / 2**20

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            try:
                self.peak = max(self.peak, self.now())
            except Exception:  # the process ended
                return

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.peak = max(self.peak, self.now())


async def _run_sessions(
    url: str, n: int, events: int, think_ms: int, timeout_ms: int
) -> tuple[list[float | None], float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pages = []
            for _ in range(n):  # users arrive one after the other; then they all drag at once
                page = await (await browser.new_context()).new_page()
                await page.goto(url + "/", wait_until="domcontentloaded", timeout=120_000)
                await page.wait_for_function(READY_JS, timeout=120_000)
                pages.append(page)
            t0 = time.perf_counter()
            per_page = await asyncio.gather(
                *(
                    p.evaluate(MEASURE_JS, {"events": events, "think": think_ms, "timeout": timeout_ms})
                    for p in pages
                )
            )
            wall = time.perf_counter() - t0
        finally:
            await browser.close()
    return [None if x is None else float(x) for lat in per_page for x in lat], wall


def session_latencies(
    url: str, n: int, events: int, think_ms: int = 50, timeout_ms: int = 20_000
) -> tuple[list[float | None], float]:
    """Frame latencies (ms) of ``n`` concurrent browser sessions (None: no frame within
    ``timeout_ms``) and the wall time (s) they took."""
    # a thread of its own: the caller may already run an event loop (sync Playwright does)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(_run_sessions(url, n, events, think_ms, timeout_ms))).result()


def _explanation_peak(url: str, sampler: _RssSampler) -> float:
    """Server RSS peak (MB) while one session explains a phantom sample with the default options."""
    from playwright.sync_api import sync_playwright

    before = sampler.peak
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.goto(url + "/", wait_until="domcontentloaded")
        page.wait_for_function(READY_JS, timeout=120_000)
        page.locator(".bk-tab", has_text="Explain").first.click()
        page.locator(".lv-phantom button").first.click()
        page.locator(".lv-model-input img").first.wait_for(timeout=60_000)
        page.locator(".lv-explain button").first.click()
        page.locator(".lv-panel-lig img").first.wait_for(timeout=600_000)
        browser.close()
    return max(before, sampler.peak)


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def session_cycles_rss(cycles: int = 20, options: dict | None = None) -> list[float]:
    """Process RSS (MB) before and after each of ``cycles`` open → explain → close cycles.

    Each cycle opens a :class:`~latentviz.dashboard.app.DashboardSession` in this process (the
    server's handler, without a browser), explains a phantom sample and closes the session,
    which releases its memory (:func:`latentviz.core.memory.release_memory`). Element 0 is the
    RSS with the models loaded and no session.
    """
    from latentviz.core.memory import release_memory, rss_bytes
    from latentviz.dashboard.app import DashboardSession
    from latentviz.dashboard.resources import DashboardConfig, load_resources

    resources = load_resources(DashboardConfig())
    opts = options or {"restarts": 4, "steps": 10, "refine": 0, "ig_steps": 16, "lig_steps": 16}
    release_memory()
    out = [(rss_bytes() or 0) / 2**20]
    for i in range(cycles):
        session = DashboardSession(resources)
        tab = session.explain
        for name, value in opts.items():
            getattr(tab, name).value = value
        tab.use_phantom(seed=i)
        tab.start()
        if not tab.wait(600):
            raise LatentvizError(f"cycle {i}: the explanation did not finish")
        session.close()
        del session, tab
        release_memory()  # what the delayed release of close() does a few seconds later
        out.append((rss_bytes() or 0) / 2**20)
    return out


def _batched_row(events: int, think: int, p95_one: float, p95_default: float) -> Row:
    """The most sessions again, on a server that renders concurrent sessions' frames in one
    batched forward (``--batch-frames``), against the default server in the same run."""
    from latentviz.dashboard.server import ServerProcess

    n = max(SESSIONS)
    with ServerProcess(["--batch-frames"], timeout=300) as server:
        timed, wall = session_latencies(server.url, n, events, think)
    lat = [x for x in timed if x is not None]
    if not lat:
        raise LatentvizError(f"no frame arrived in any of {n} sessions (--batch-frames)")
    p95 = _percentile(lat, 0.95)
    return Row(
        AREA,
        f"slider → frame in the browser, {n} concurrent sessions, --batch-frames",
        statistics.median(lat),
        "ms",
        p95,
        extra={
            "p95_vs_one_session": round(p95 / p95_one, 2),
            "p95_vs_default_server": round(p95 / p95_default, 2),
            "sessions": n,
            "frames_per_s": round(len(lat) / wall, 1),
            "lost_events": len(timed) - len(lat),
        },
        note=f"{len(timed) - len(lat)} lost events of {len(timed)}; p95 {p95 / p95_one:.2f}× one session",
    )


def rows(quick: bool = False) -> list[Row]:
    """Frame latency at N = 1, 4, 8 sessions, server start time and server memory, and the
    RSS of the session handler over open → explain → close cycles."""
    try:
        import playwright  # noqa: F401

        from latentviz.dashboard.server import ServerProcess
    except ImportError as exc:
        raise LatentvizError(f"the dashboard benchmark needs {exc.name} (the dev/dashboard extras)") from exc
    if not CHROMIUM.exists():
        raise LatentvizError(f"the dashboard benchmark drives Chromium at {CHROMIUM}; it is not installed")
    events, think = (15, 50) if quick else (60, 50)
    out: list[Row] = []
    t0 = time.perf_counter()
    with ServerProcess(timeout=300) as server, _RssSampler(server.pid) as rss:
        start = time.perf_counter() - t0
        out.append(Row(AREA, "server start → first HTTP answer (ct-medxgan, SeFa k=6)", start, "s"))
        out.append(Row(AREA, "server RSS after start, no session", rss.now(), "MB"))
        p95_one = None
        for n in SESSIONS:
            timed, wall = session_latencies(server.url, n, events, think)
            lat = [x for x in timed if x is not None]
            if not lat:
                raise LatentvizError(f"no frame arrived in any of {n} sessions")
            p95 = _percentile(lat, 0.95)
            p95_one = p95 if p95_one is None else p95_one
            out.append(
                Row(
                    AREA,
                    f"slider → frame in the browser, {n} concurrent session{'s' if n > 1 else ''}",
                    statistics.median(lat),
                    "ms",
                    p95,
                    target="p95 ≤ 3× one session, no lost event" if n == max(SESSIONS) else "",
                    extra={
                        "p95_vs_one_session": round(p95 / p95_one, 2),
                        "sessions": n,
                        "events_per_session": events,
                        "think_ms": think,
                        "frames_per_s": round(len(lat) / wall, 1),
                        "lost_events": len(timed) - len(lat),
                        "server_rss_peak_mb": round(rss.peak, 1),
                    },
                    note=f"{len(timed) - len(lat)} lost events of {len(timed)}"
                    + (f"; p95 {p95 / p95_one:.2f}× one session" if n > 1 else ""),
                )
            )
        label = " + ".join(map(str, SESSIONS))
        out.append(Row(AREA, f"server RSS peak, after {label} sessions", rss.peak, "MB"))
        p95_default = out[-2].p95
        peak = _explanation_peak(server.url, rss)
        out.append(
            Row(
                AREA,
                "server RSS peak, incl. one explanation (default options)",
                peak,
                "MB",
                target="< 2048 MB",
            )
        )
    out.append(_batched_row(events, think, p95_one, p95_default))
    cycles = 6 if quick else 20
    mem = session_cycles_rss(cycles)
    out.append(
        Row(
            AREA,
            f"handler RSS after {cycles} open → explain → close cycles (no browser)",
            mem[-1],
            "MB",
            target="flat after the first cycles",
            extra={
                "idle_mb": round(mem[0], 1),
                "after_first_cycle_mb": round(mem[1], 1),
                "peak_mb": round(max(mem), 1),
                "growth_from_cycle_2_mb": round(mem[-1] - mem[2], 1),
            },
        )
    )
    return out
