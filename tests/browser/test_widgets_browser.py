"""Drive the notebook widgets in a real browser: JupyterLab on loopback + Debian's Chromium.

Each test writes a small notebook that shows one widget over zoo models, opens it in JupyterLab,
runs it, and checks what a person would see: the DirectionExplorer's image changes when its slider
is dragged with the mouse; the ExplanationPanel shows its eight labelled panels; the
InterpolationPlayer shows its frames and plotly curve and changes frame when the scrub slider is
dragged. No JavaScript error may reach the console. Screenshots go to ``test-artifacts/``
(``widget_explorer.png``, ``widget_panel.png``, ``widget_player.png``: the widget's output area).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, MARKS

pytestmark = MARKS

NOTEBOOKS = {
    "explorer": """
from latentviz.widgets import DirectionExplorer

explorer = DirectionExplorer.from_zoo("ct-dcgan", method="sefa", k=4, classifier="ct-classifier")
explorer.window.value = "mediastinum"
explorer.show_difference.value = True
explorer
""",
    "panel": """
from latentviz.core import ExplanationOptions
from latentviz.widgets import ExplanationPanel

options = ExplanationOptions(restarts=1, inversion_steps=40, refine_evals=40, ig_steps=16, lig_steps=16)
panel = ExplanationPanel.from_zoo("cxr-medxgan", options=options, seed=3)
panel
""",
    "player": """
from latentviz.widgets import InterpolationPlayer

quick = {"restarts": 1, "steps": 40, "refine_evals": 40}
player = InterpolationPlayer.from_zoo("cxr-medxgan", n_frames=16, seed=5, inversion=quick)
player
""",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    for name, code in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code.strip())]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / f"{name}.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(root / "rt"),
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        "--allow-root",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(root / "lab.log", "wb")  # closed in the finally block
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited: {(root / 'lab.log').read_text()[-2000:]}")
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
        log.close()


@pytest.fixture
def page(lab):
    """A Chromium page with console errors collected in ``page.errors``."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=ARGS,
        )
        pg = browser.new_page(viewport={"width": 1950, "height": 1100})
        pg.errors = []
        pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.lab = lab
        yield pg
        browser.close()


def _run_notebook(page, name: str, ready_selector: str) -> None:
    """Open ``name.ipynb``, run all cells and wait until ``ready_selector`` shows a loaded image."""
    base, token = page.lab
    # One workspace per notebook, so JupyterLab does not restore another test's tabs.
    url = f"{base}/lab/workspaces/{name}/tree/{name}.ipynb?token={token}"
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)  # kernel connected
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    try:
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('.jp-OutputArea img{ready_selector}');"
            " return i && i.complete && i.naturalWidth > 0; }",
            timeout=180_000,
        )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"widget_{name}_failed.png"))
        raise
    news = page.get_by_role("button", name="No", exact=True)
    if news.count():  # JupyterLab's "notify about news?" toast would cover the screenshot
        news.first.click()


def _drag(page, handle_selector: str, dx_total: int) -> None:
    """A real mouse drag with many intermediate events."""
    box = page.locator(handle_selector).first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in range(10, dx_total + 1, 10):
        page.mouse.move(x + dx, y)
    page.mouse.up()


def _wait_src_change(page, selector: str, before: str | None) -> None:
    page.wait_for_function(
        f"() => {{ const i = document.querySelector('.jp-OutputArea img{selector}');"
        f" return i && i.src !== {before!r} && i.complete; }}",
        timeout=30_000,
    )


def _shoot(page, selector: str, name: str) -> None:
    """Screenshots of the page and of the widget's output area."""
    page.screenshot(path=str(ARTIFACTS / f"widget_{name}_page.png"))
    page.locator(f".jp-OutputArea {selector}").first.locator(
        "xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]"
    ).first.screenshot(path=str(ARTIFACTS / f"widget_{name}.png"))


def test_explorer_slider_drag_changes_the_image(page) -> None:
    _run_notebook(page, "explorer", ".lv-frame")
    img = page.locator(".jp-OutputArea img.lv-frame").first
    page.wait_for_timeout(500)
    before_src, before_pixels = img.get_attribute("src"), img.screenshot()
    _drag(page, ".jp-OutputArea .lv-direction-slider .noUi-handle", 50)
    _wait_src_change(page, ".lv-frame", before_src)
    page.wait_for_timeout(1000)  # the last frame of the drag arrives
    after_pixels = img.screenshot()
    readout = page.locator(".jp-OutputArea .lv-direction-slider .widget-readout").first.inner_text()
    truncation = page.locator(".jp-OutputArea .widget-slider .widget-readout").nth(0).inner_text()
    probability = page.locator(".jp-OutputArea .widget-html", has_text="classifier p(positive)").first
    _shoot(page, ".lv-frame", "explorer")

    assert before_pixels != after_pixels, "the image did not change after dragging the slider"
    assert float(readout) > 0.5, f"slider readout {readout!r} did not move right"
    assert truncation == "1.00", "the drag moved the truncation slider instead of a direction"
    assert probability.count() == 1
    assert not page.errors, f"JavaScript console errors: {page.errors}"


def test_explanation_panel_shows_every_panel(page) -> None:
    _run_notebook(page, "panel", ".lv-panel-image")
    page.wait_for_function(
        "() => { const imgs = document.querySelectorAll('.jp-OutputArea img.lv-panel-image');"
        " return imgs.length === 8 && [...imgs].every(i => i.complete && i.naturalWidth > 0); }",
        timeout=60_000,
    )
    page.wait_for_timeout(500)
    status = page.locator(".jp-OutputArea .lv-status").first.inner_text()
    titles = page.locator(".jp-OutputArea .lv-panels b").all_inner_texts()
    captions = page.locator(".jp-OutputArea .lv-panels small").all_inner_texts()
    _shoot(page, ".lv-panels", "panel")

    assert status.startswith("done in"), status
    assert titles[:3] == ["Original", "Reconstruction", "Negative (z2 = 0)"]
    assert {"Grad-CAM", "Integrated Gradients", "Latent IG"} <= set(titles)
    assert len(captions) == 8 and all("p=" in c for c in captions), captions
    assert "PSNR" in captions[1]
    assert not page.errors, f"JavaScript console errors: {page.errors}"


def test_interpolation_player_scrubs_and_draws_the_curve(page) -> None:
    _run_notebook(page, "player", ".lv-player-frame")
    page.wait_for_selector(".jp-OutputArea .js-plotly-plot .scatterlayer", timeout=60_000)
    img = page.locator(".jp-OutputArea img.lv-player-frame").first
    page.wait_for_timeout(500)
    before_src = img.get_attribute("src")
    caption_before = page.locator(".jp-OutputArea .widget-html", has_text="α =").first.inner_text()
    _drag(page, ".jp-OutputArea .lv-player-scrub .noUi-handle", 50)
    _wait_src_change(page, ".lv-player-frame", before_src)
    page.wait_for_timeout(1000)
    caption_after = page.locator(".jp-OutputArea .widget-html", has_text="α =").first.inner_text()
    n_images = page.locator(".jp-OutputArea img").count()
    _shoot(page, ".lv-player-frame", "player")

    assert "frame 1/" in caption_before and "α = 0.00" in caption_before and caption_after != caption_before
    assert n_images >= 5  # frame, two differences, two colorbars
    assert not page.errors, f"JavaScript console errors: {page.errors}"
