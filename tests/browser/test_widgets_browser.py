"""Drive the DirectionExplorer in a real browser: JupyterLab on loopback + Debian's Chromium.

The test writes a small notebook that shows a DirectionExplorer over a toy generator, opens
it in JupyterLab, runs it, drags the first slider with the mouse and checks that the image
the browser shows changed and that no JavaScript error reached the console. Screenshots go
to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
    ),
]

NOTEBOOK_CODE = """
import numpy as np, torch
from torch import nn
from latentviz.models import Generator, Classifier
from latentviz.widgets import DirectionExplorer

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(8, 16 * 8 * 8), nn.Unflatten(1, (16, 8, 8)),
                    nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(),
                    nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh())
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.ConvTranspose2d):
            m.weight.normal_(0, 0.15)
generator = Generator(net, latent_shape=(8,), device="cpu", name="toy")
clf = Classifier(nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 1)),
                 device="cpu")
explorer = DirectionExplorer(generator, np.eye(8)[:3], clf, names=["axis 0", "axis 1", "axis 2"])
explorer
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE.strip())]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "explorer.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--ServerApp.port_retries=0",
        "--allow-root",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not start within 60 s")
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_slider_drag_changes_the_image_in_chromium(lab) -> None:
    from playwright.sync_api import sync_playwright

    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)  # kernel connected
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        img = page.locator(".jp-OutputArea .lv-frame").first
        try:
            img.wait_for(timeout=120_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "widget_explorer_failed.png"))
            raise
        page.wait_for_function(
            "() => { const i = document.querySelector('.jp-OutputArea img.lv-frame');"
            " return i && i.complete && i.naturalWidth > 0; }",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "widget_explorer_before.png"))
        before_src = img.get_attribute("src")
        before_pixels = img.screenshot()

        handle = page.locator(".jp-OutputArea .lv-direction-slider .noUi-handle").first
        box = handle.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        for dx in range(10, 130, 10):  # a real drag: many intermediate events
            page.mouse.move(x + dx, y)
        page.mouse.up()
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('.jp-OutputArea img.lv-frame');"
            f" return i && i.src !== {before_src!r} && i.complete; }}",
            timeout=30_000,
        )
        page.wait_for_timeout(1000)  # the last frame of the drag arrives
        news = page.get_by_role("button", name="No", exact=True)
        if news.count():  # JupyterLab's "notify about news?" toast would cover the screenshot
            news.first.click()
        after_pixels = img.screenshot()
        readout = page.locator(".jp-OutputArea .lv-direction-slider .widget-readout").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "widget_explorer.png"))
        img.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]").first.screenshot(
            path=str(ARTIFACTS / "widget_explorer_output.png")
        )
        truncation = page.locator(".jp-OutputArea .widget-slider .widget-readout").nth(0).inner_text()
        browser.close()

    assert before_pixels != after_pixels, "the image did not change after dragging the slider"
    assert float(readout) > 0.5, f"slider readout {readout!r} did not move right"
    assert truncation == "1.00", "the drag moved the truncation slider instead of a direction"
    assert not errors, f"JavaScript console errors: {errors}"
