"""Drive the dashboard in a real browser: ``latentviz serve`` on loopback + Debian's Chromium.

One server (the default zoo: ct-medxgan, ct-classifier, SeFa directions) serves every test
of the module. The tests check that the page loads without console errors or requests
leaving the machine, that a slider drag changes the image, that a real DICOM renders
windowed without its patient identifiers, that a corrupt upload shows an error while the
page keeps working, that two browser sessions are isolated, and that a second server on
the same port is refused. Screenshots go to ``test-artifacts/`` (``dashboard_*.png``);
the documentation's pictures in ``docs/images/`` are copies of them.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, DEEP_HTML, DEEP_TEXT, DOCUMENT_STRINGS, MARKS, serve
from pydicom.data import get_testdata_file

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
IDENTIFIERS = ("CompressedSamples", "CT1", "JFK IMAGING", "20040119")

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    logfile = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve([], logfile) as proc:
        yield proc.url, proc.port


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A dashboard page with its console errors and the requests it made."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1100})
        self.page = p = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        p.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        p.on("pageerror", lambda e: self.errors.append(str(e)))
        p.on("request", lambda r: self.requests.append(r.url))
        p.goto(base + "/", wait_until="domcontentloaded")
        p.locator(".lv-frame img").first.wait_for(timeout=90_000)
        self.base = base

    def src(self, css: str) -> str:
        return self.page.locator(f"{css} img").first.get_attribute("src") or ""

    def wait_src_change(self, css: str, old: str, timeout: float = 30_000) -> str:
        deadline = time.monotonic() + timeout / 1000
        while time.monotonic() < deadline:
            new = self.src(css)
            if new and new != old:
                return new
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{css} did not change within {timeout / 1000:.0f} s")

    def text(self, css: str) -> str:
        return self.page.locator(css).first.evaluate("e => (e.shadowRoot || e).textContent")

    def tab(self, name: str) -> None:
        self.page.locator(".bk-tab", has_text=name).first.click()
        self.page.wait_for_timeout(300)

    def drag_slider(self, index: int = 0, dx: int = 120) -> None:
        handle = self.page.locator(".lv-direction-slider .noUi-handle").nth(index)
        box = handle.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        for step in range(10, dx + 1, 10):  # a real drag: many intermediate events
            self.page.mouse.move(x + step, y)
        self.page.mouse.up()

    def shot(self, name: str) -> None:
        """Screenshot of the app (not the empty rest of the window)."""
        self.page.locator(".lv-app").first.screenshot(path=str(ARTIFACTS / f"dashboard_{name}.png"))

    def close(self) -> None:
        self.context.close()


def _png_of(src: str) -> bytes:
    assert src.startswith("data:image/png;base64,")
    return base64.b64decode(src.split(",", 1)[1])


def _decode(src: str) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(_png_of(src)))).astype(float)


def test_page_loads_clean_and_a_slider_drag_changes_the_image(server, browser) -> None:
    base, _ = server
    page = Page(browser, base)
    try:
        before = page.src(".lv-frame")
        page.drag_slider(0)
        after = page.wait_src_change(".lv-frame", before)
        page.page.wait_for_timeout(800)  # the drag's last frame
        after = page.src(".lv-frame")
        assert not np.array_equal(_decode(before), _decode(after))
        readout = page.page.locator(".lv-direction-slider").first.evaluate(
            "e => (e.shadowRoot || e).textContent"
        )
        assert "sefa 0" in readout and "+" in readout
        assert "classifier p(positive)" in page.text(".lv-probability")
        page.page.locator(".lv-direction-slider .noUi-handle").nth(2).focus()
        for _ in range(8):  # keyboard works too: a second direction, for a nicer screenshot
            page.page.keyboard.press("ArrowLeft")
        page.wait_src_change(".lv-frame", after)
        page.page.locator(".lv-difference-toggle input").first.check()
        page.page.locator(".lv-difference img").first.wait_for(timeout=30_000)
        page.page.wait_for_timeout(500)
        page.shot("directions")
    finally:
        page.close()
    loopback = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:http://127.0.0.1")
    assert [u for u in page.requests if not u.startswith(loopback)] == [], "requests left the machine"
    assert not page.errors, f"JavaScript console errors: {page.errors}"


def test_dicom_upload_is_windowed_and_shows_no_identifiers(server, browser) -> None:
    base, _ = server
    page = Page(browser, base)
    try:
        page.tab("Explain")
        page.page.locator(".lv-upload input[type=file]").first.set_input_files(str(CT_SMALL))
        page.wait_src_change(".lv-upload-preview", "")
        info = page.text(".lv-upload-info")
        assert "CT image, 128 × 128 px" in info and "window center -600, width 1500 HU" in info
        ds = pydicom.dcmread(CT_SMALL)
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        expected = np.clip((hu + 1350) / 1500, 0, 1) * 255  # the model's lung window, by hand
        shown = _decode(page.src(".lv-upload-preview"))
        assert shown.shape == (128, 128) and np.abs(shown - expected).max() <= 1.0
        text = page.page.evaluate(DEEP_TEXT)
        markup = page.page.evaluate(DEEP_HTML)
        state = page.page.evaluate(DOCUMENT_STRINGS)
        for ident in IDENTIFIERS:
            assert ident not in text and ident not in markup and ident not in state, ident
        page.shot("explain_upload")

        page.page.locator(".lv-upload input[type=file]").first.set_input_files(
            files=[{"name": "broken.dcm", "mimeType": "application/dicom", "buffer": b"\x00garbage" * 64}]
        )
        page.page.locator(".lv-message .lv-error").first.wait_for(timeout=30_000)
        message = page.text(".lv-message")
        assert "the uploaded file: not a DICOM file" in message and "previous image is kept" in message
        page.shot("explain_corrupt")

        page.page.locator(".lv-phantom button").first.click()  # the page still works
        page.page.locator(".lv-explain button").first.click()
        page.page.locator(".lv-progress").first.wait_for(timeout=30_000)
        page.page.locator(".lv-panel-lig img").first.wait_for(timeout=240_000)
        page.page.wait_for_timeout(800)
        assert "done in" in page.text(".lv-message")
        page.shot("explain")
        page.tab("Interpolation")
        page.page.locator(".lv-interp-caption").first.wait_for(timeout=30_000)
        assert "explained image" in page.page.evaluate(DEEP_TEXT)
    finally:
        page.close()
    assert not page.errors, f"JavaScript console errors: {page.errors}"


def test_interpolation_player_and_pixel_tap(server, browser) -> None:
    base, _ = server
    page = Page(browser, base)
    try:
        page.tab("Interpolation")
        page.page.locator(".lv-interp-frame img").first.wait_for(timeout=60_000)
        first = page.src(".lv-interp-frame")
        assert "frame 1/24" in page.text(".lv-interp-caption")
        slider = page.page.locator(".lv-player input[type=range]").first
        slider.evaluate("(e) => { e.value = 16; e.dispatchEvent(new Event('input', {bubbles: true})); }")
        page.wait_src_change(".lv-interp-frame", first)
        assert "frame 17/24" in page.text(".lv-interp-caption")
        canvas = page.page.locator(".lv-interp-tap canvas").first
        box = canvas.bounding_box()
        assert box is not None
        titles = page.page.evaluate(DOCUMENT_STRINGS)  # plot titles are drawn on a canvas
        assert "pixel (row 32, column 32) along the path" in titles
        page.page.mouse.click(box["x"] + box["width"] * 0.53, box["y"] + box["height"] * 0.445)
        page.page.wait_for_function(
            f"() => {{ const t = ({DOCUMENT_STRINGS})(); return t.includes('along the path') &&"
            " !t.includes('pixel (row 32, column 32)'); }",
            timeout=30_000,
        )
        page.page.wait_for_timeout(500)
        page.shot("interpolation")
    finally:
        page.close()
    assert not page.errors, f"JavaScript console errors: {page.errors}"


def test_two_browser_sessions_are_isolated(server, browser) -> None:
    base, _ = server
    a, b = Page(browser, base), Page(browser, base)
    try:
        a_before, b_before = a.src(".lv-frame"), b.src(".lv-frame")
        assert _png_of(a_before) == _png_of(b_before)  # same seed: the same start image
        a.drag_slider(1, dx=90)
        a.wait_src_change(".lv-frame", a_before)
        b.page.wait_for_timeout(1500)  # time for a wrongly shared update to arrive
        assert b.src(".lv-frame") == b_before
        readout_b = (
            b.page.locator(".lv-direction-slider").nth(1).evaluate("e => (e.shadowRoot || e).textContent")
        )
        assert "0.0" in readout_b
    finally:
        a.close()
        b.close()
    assert not a.errors and not b.errors


def test_a_second_server_on_the_same_port_is_refused(server) -> None:
    _, port = server
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "latentviz", "serve", "--port", str(port), "--no-show"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"latentviz serve: error: port {port} on 127.0.0.1 is already in use; stop the other server "
        "or choose another port with --port"
    )
    assert time.perf_counter() - t0 < 20


def test_the_load_benchmark_measures_frames_of_concurrent_sessions(server) -> None:
    from latentviz.bench.dashboard import session_latencies

    base, _ = server
    latencies, _ = session_latencies(base, n=2, events=4, think_ms=20)
    assert len(latencies) == 8 and all(x is not None and 0 < x < 20_000 for x in latencies)


# Boxes of every element matching a class (through shadow roots) that stick out of an ancestor
# which clips (overflow other than visible), or whose text overflows its own box.
CLIPPED = """(cls) => { const found = [];
  const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.children || []) {
      if (c.classList && c.classList.contains(cls)) found.push(c); walk(c); } };
  walk(document.body);
  const up = (e) => e.parentElement || (e.getRootNode && e.getRootNode().host) || null;
  const bad = [];
  for (const e of found) { const r = e.getBoundingClientRect(); if (r.width === 0) continue;
    if (e.scrollWidth > e.clientWidth + 1) bad.push(cls + ': text wider than its box');
    for (let a = up(e); a && a !== document.body; a = up(a)) {
      const s = getComputedStyle(a); if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const q = a.getBoundingClientRect();
      if (r.left < q.left - 1 || r.right > q.right + 1 || r.top < q.top - 1 || r.bottom > q.bottom + 1)
        bad.push(cls + ' clipped by ' + a.tagName + '.' + a.className); } }
  return {n: found.filter((e) => e.getBoundingClientRect().width > 0).length, bad: bad}; }"""


def _deep_texts(page: Page, cls: str) -> list[str]:
    return page.page.evaluate(
        """(cls) => { const out = [];
        const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
          for (const c of n.children || []) { if (c.classList && c.classList.contains(cls)
            && c.getBoundingClientRect().width > 0) out.push(c.textContent); walk(c); } };
        walk(document.body); return out; }""",
        cls,
    )


def _not_clipped(page: Page, cls: str, at_least: int = 1) -> None:
    got = page.page.evaluate(CLIPPED, cls)
    assert got["n"] >= at_least, f"{cls}: {got['n']} shown, expected {at_least}"
    assert not got["bad"], got["bad"]


def test_figure_labels_are_whole_and_name_the_target(server, browser) -> None:
    base, _ = server
    page = Page(browser, base)
    try:
        # Directions: the difference view's colour bar is labelled in text, nothing clipped.
        page.page.locator(".lv-difference-toggle input").first.check()
        page.page.locator(".lv-difference img").first.wait_for(timeout=30_000)
        page.page.wait_for_timeout(500)
        assert _deep_texts(page, "lv-colorbar-label") == ["difference to start (model units)"]
        for cls in ("lv-colorbar-label", "lv-frame", "lv-difference", "lv-colorbar"):
            _not_clipped(page, cls)
        assert "classifier p(positive)" in page.text(".lv-probability")
        page.shot("figures_directions")

        # Explain: a phantom's explanation, both colour bars, the target named on the bars.
        page.tab("Explain")
        page.page.locator(".lv-phantom button").first.click()
        page.page.wait_for_function(
            f"() => ({DEEP_TEXT})().includes('in use: phantom sample, seed 0')", timeout=60_000
        )
        page.page.locator(".lv-explain button").first.click()
        page.page.locator(".lv-panel-lig img").first.wait_for(timeout=240_000)
        page.page.wait_for_timeout(800)
        labels = _deep_texts(page, "lv-colorbar-label")
        assert "value / max|value| of each map (red: raises p)" in labels
        assert "|difference| / max|difference| (colorized)" in labels
        for cls in ("lv-colorbar-label", "lv-colorbar", "lv-panel-colorized", "lv-panel-lig"):
            _not_clipped(page, cls)
        assert "p(positive)" in page.page.evaluate(DOCUMENT_STRINGS)  # the bar chart's axis
        assert "in use: phantom sample, seed 0" in page.page.evaluate(DEEP_TEXT)
        page.shot("figures_explain")

        # A real upload replaces the phantom: its results go, no lesion-contour box, a safe name.
        page.page.locator(".lv-upload input[type=file]").first.set_input_files(str(CT_SMALL))
        page.page.wait_for_function(
            f"() => ({DEEP_TEXT})().includes('uploaded CT image (file name withheld)')", timeout=60_000
        )
        page.page.wait_for_timeout(500)
        text = page.page.evaluate(DEEP_TEXT)
        contour_box = page.page.get_by_text("ground-truth lesion contour")
        assert all(not contour_box.nth(i).is_visible() for i in range(contour_box.count()))
        assert page.page.locator(".lv-panel-lig img").count() == 0
        assert "CT_small" not in text and "CT_small" not in page.page.evaluate(DOCUMENT_STRINGS)

        # Interpolation: both colour bars, with the true minus sign.
        page.tab("Interpolation")
        page.page.locator(".lv-interp-frame img").first.wait_for(timeout=60_000)
        page.page.wait_for_timeout(500)
        labels = _deep_texts(page, "lv-colorbar-label")
        assert "frame \u2212 previous frame" in labels and "accumulated |difference|" in labels
        _not_clipped(page, "lv-colorbar-label", at_least=2)
        page.shot("figures_interpolation")
    finally:
        page.close()
    assert not page.errors, f"JavaScript console errors: {page.errors}"
