"""Peak memory of what a Binder user runs, against Binder's 2 GB limit.

Usage (from the repository root, with latentviz installed with the [dev] extra)::

    python binder/measure_memory.py notebook examples/01_quickstart.ipynb
    python binder/measure_memory.py dashboard [--sessions 2]

``notebook`` executes the notebook with nbclient in a child process (as Binder's kernel
would run it) with ``LATENTVIZ_QUICK`` unset. ``dashboard`` starts the Panel server exactly
as jupyter-panel-proxy does on Binder (its command for ``jupyter-panel-proxy.yml``), opens
the app in Debian's Chromium for ``--sessions`` concurrent sessions, explains a phantom
sample in each (the heaviest action: inversion + attributions) and drags a direction slider.

Both sample the resident memory (RSS) of the whole process tree every 0.1 s with psutil and
also report the largest process's peak (Linux ``VmHWM``). Memory of the Jupyter server
itself is not included in either figure (docs/binder.md gives it separately).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# What binder/start exports for every process of the container.
BINDER_ENV = {"OMP_NUM_THREADS": "1"}


class TreeSampler:
    """Samples the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.every = every
        self.peak_sum = 0
        self.peak_hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                    self.peak_hwm[p.pid] = max(self.peak_hwm.get(p.pid, 0), _vm_hwm(p.pid))
                except (psutil.NoSuchProcess, psutil.AccessDenied, FileNotFoundError):
                    continue
            self.peak_sum = max(self.peak_sum, total)
            time.sleep(self.every)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _vm_hwm(pid: int) -> int:
    """Peak resident set size of ``pid`` in bytes (Linux ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def measure_notebook(path: Path) -> None:
    code = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "NotebookClient(nb, timeout=1800, kernel_name='python3',\n"
        "               resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LATENTVIZ_QUICK"}
    env.update(BINDER_ENV)
    with tempfile.TemporaryDirectory(prefix="latentviz-memory-") as tmp:
        env["LATENTVIZ_OUT"] = tmp  # what the notebook writes stays out of the repository
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, str(path), tmp], env=env)
        with TreeSampler(proc.pid) as sampler:
            rc = proc.wait()
        seconds = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"{path} failed (exit {rc})")
    print(f"notebook {path}: ran in {seconds:.0f} s")
    print(f"  peak RSS, nbclient + kernel: {_mb(sampler.peak_sum)}")
    print(f"  peak RSS of the largest process (the kernel): {_mb(max(sampler.peak_hwm.values()))}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the Panel server exited with code {server.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"the Panel server did not listen on port {port} within {timeout:.0f} s")


def _proxy_command(port: int) -> list[str]:
    """The ``panel serve`` command jupyter-panel-proxy would run here, bound to loopback."""
    import panel_server

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        cmd = panel_server._launch_command(port)
    finally:
        os.chdir(cwd)
    cmd = [c.replace("{base_url}", "/") for c in cmd]
    i = cmd.index("--allow-websocket-origin")
    cmd[i + 1] = f"127.0.0.1:{port}"  # the proxy allows any origin; loopback is enough here
    return [*cmd, "--address", "127.0.0.1"]


def _drive_session(browser, url: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, timeout=300_000)
    page.wait_for_selector(".lv-direction-slider", timeout=300_000)
    page.locator(".bk-tab", has_text="Explain").click()
    page.locator(".lv-phantom button").click()
    page.locator(".lv-explain button:not([disabled])").wait_for(timeout=300_000)
    page.locator(".lv-explain button").click()
    page.wait_for_selector(".lv-panels img", timeout=900_000)
    page.locator(".bk-tab", has_text="Directions").click()
    handle = page.locator(".lv-direction-slider .noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for dx in range(0, 120, 10):
        page.mouse.move(box["x"] + dx, box["y"] + box["height"] / 2)
        time.sleep(0.05)
    page.mouse.up()
    time.sleep(2)


def measure_dashboard(sessions: int) -> None:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    cmd = _proxy_command(port)
    print("server:", " ".join(cmd))
    env = {**os.environ, **BINDER_ENV}
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/panel/dashboard"
    try:
        _wait_for_port(port, server)
        with TreeSampler(server.pid) as sampler:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                # Sessions are driven one after the other (Playwright's sync API is not
                # thread-safe); each page stays open, so the server holds all of them at the end.
                for _ in range(sessions):
                    _drive_session(browser, url)
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"dashboard at /panel/dashboard, {sessions} session(s)", end=" ")
    print("(each explained a phantom sample and dragged a direction slider)")
    print(f"  peak RSS of the server process tree: {_mb(sampler.peak_sum)}")
    print(f"  peak RSS of the largest process (the server): {_mb(max(sampler.peak_hwm.values()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    nb = sub.add_parser("notebook")
    nb.add_argument("path", type=Path)
    dash = sub.add_parser("dashboard")
    dash.add_argument("--sessions", type=int, default=1)
    args = parser.parse_args()
    if args.what == "notebook":
        measure_notebook(args.path.resolve())
    else:
        measure_dashboard(args.sessions)


if __name__ == "__main__":
    main()
