"""The Binder files, tested as far as can be done offline.

* ``binder/requirements.txt`` pins every dependency of latentviz's core and of the extras the
  image installs, each pin satisfies ``pyproject.toml``, and torch is the CPU build;
* ``binder/runtime.txt`` names a Python that ``requires-python`` allows;
* ``binder/start`` and ``binder/postBuild`` are valid bash, executable, and behave;
* jupyter-panel-proxy (as Binder runs it) serves exactly ``binder/dashboard.py``, and that app
  file renders.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
# The extras the Binder image provides (binder/requirements.txt says so too).
EXTRAS = ("notebook", "dashboard", "brain")
QUICKSTART = "examples/01_quickstart.ipynb"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements() -> tuple[dict[str, Requirement], list[str]]:
    """Binder's pins by canonical name, and its option lines (``--extra-index-url …``)."""
    pins: dict[str, Requirement] = {}
    options: list[str] = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in pins, f"{req.name} is pinned twice"
        pins[name] = req
    return pins, options


def _project_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in reqs if canonicalize_name(r.name) != "latentviz"]


def _pinned_version(req: Requirement) -> Version:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="
    return Version(specs[0].version)


def test_every_pin_is_exact() -> None:
    pins, _ = _requirements()
    assert pins
    for req in pins.values():
        _pinned_version(req)


def test_pins_cover_and_satisfy_the_project_requirements() -> None:
    pins, _ = _requirements()
    for req in _project_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"binder/requirements.txt does not pin {req.name} (pyproject: {req})"
        version = _pinned_version(pins[name])
        assert req.specifier.contains(version, prereleases=True), (
            f"binder pins {req.name}=={version}, but pyproject.toml asks for {req}"
        )
        missing = set(req.extras) - set(pins[name].extras)
        if missing:  # e.g. dask[distributed]: the extra's own packages must be pinned instead
            pytest.fail(f"{req} needs the extras {sorted(missing)}; pin {req.name}[...] or its packages")


def test_torch_is_the_cpu_build_from_the_cpu_index() -> None:
    pins, options = _requirements()
    version = _pinned_version(pins["torch"])
    assert version.local == "cpu", f"torch {version} is not a +cpu build"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in options


def test_the_proxy_is_pinned() -> None:
    pins, _ = _requirements()
    assert "jupyter-panel-proxy" in pins


def test_runtime_python_is_allowed() -> None:
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"repo2docker expects python-X.Y in runtime.txt, got {text!r}"
    requires = _pyproject()["project"]["requires-python"]
    assert Requirement(f"python{requires}").specifier.contains(match.group(1) + ".0")


@pytest.mark.parametrize("name", ["start", "postBuild"])
def test_scripts_are_executable_bash(name: str) -> None:
    path = BINDER / name
    assert os.access(path, os.X_OK), f"binder/{name} is not executable"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_start_ends_by_exec_ing_its_arguments() -> None:
    lines = [
        line.strip()
        for line in (BINDER / "start").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[-1] == 'exec "$@"'


def _start_env(default_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTERHUB_DEFAULT_URL", "OMP_NUM_THREADS")}
    if default_url is not None:
        env["JUPYTERHUB_DEFAULT_URL"] = default_url
    keys = ("JUPYTERHUB_DEFAULT_URL", "OMP_NUM_THREADS")
    code = f"import os, json; print(json.dumps({{k: os.environ.get(k) for k in {keys!r}}}))"
    out = subprocess.run(
        [str(BINDER / "start"), sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("given", [None, "/lab", "/tree/"])
def test_start_opens_the_quickstart_by_default(given: str | None) -> None:
    env = _start_env(given)
    assert env["JUPYTERHUB_DEFAULT_URL"] == f"/lab/tree/{QUICKSTART}"
    assert env["OMP_NUM_THREADS"] == "1"


def test_start_keeps_a_launch_url_that_asks_for_something_else() -> None:
    assert _start_env("/panel/dashboard")["JUPYTERHUB_DEFAULT_URL"] == "/panel/dashboard"


def test_quickstart_notebook_exists() -> None:
    assert (ROOT / QUICKSTART).is_file()


def test_post_build_installs_latentviz_without_deps_and_its_check_runs() -> None:
    text = (BINDER / "postBuild").read_text()
    assert re.search(r"pip install [^\n]*--no-deps -e \.$", text, re.M)
    check = re.search(r"<<'PY'\n(.*?)\nPY\n", text, re.S)
    assert check, "postBuild's import check is missing"
    out = subprocess.run(
        [sys.executable, "-c", check.group(1)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "latentviz ready: ct-medxgan" in out.stdout


def _proxy_command(port: int) -> list[str]:
    panel_server = pytest.importorskip("panel_server")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the proxy reads jupyter-panel-proxy.yml from the server's folder
    try:
        return panel_server._launch_command(port)
    finally:
        os.chdir(cwd)


def test_the_proxy_serves_only_the_dashboard_without_autoreload() -> None:
    cmd = _proxy_command(5006)
    assert cmd[:3] == ["panel", "serve", "binder/dashboard.py"]
    assert not any(c.endswith(".ipynb") for c in cmd), "the proxy would serve the notebooks as apps"
    assert "--dev" not in cmd and "--autoreload" not in cmd
    from latentviz.core.upload import DEFAULT_MAX_UPLOAD_BYTES

    size = int(cmd[cmd.index("--websocket-max-message-size") + 1])
    assert size >= DEFAULT_MAX_UPLOAD_BYTES * 4 / 3, "a full-size upload would not fit one message"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_dashboard_app_file_renders_under_the_proxy_prefix() -> None:
    port = _free_port()
    cmd = [c.replace("{base_url}", "/") for c in _proxy_command(port)]
    i = cmd.index("--allow-websocket-origin")
    cmd[i + 1] = f"127.0.0.1:{port}"
    cmd[0] = str(Path(sys.executable).with_name("panel"))
    server = subprocess.Popen(
        [*cmd, "--address", "127.0.0.1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "panel serve did not listen within 120 s"
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/panel/dashboard", timeout=240) as resp:
            page = resp.read().decode()
        # Panel answers 200 even when the app file raises; only a session that ran the
        # app gets the title latentviz's app sets ("Bokeh Application" otherwise).
        assert resp.status == 200
        assert "<title>latentviz</title>" in page
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
