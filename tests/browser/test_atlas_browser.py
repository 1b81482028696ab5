"""The dashboard's latent atlas in a real browser: ``pn.serve`` on loopback + Debian's Chromium.

The view is served from this process over a small store with two latent clusters. The test
checks that the rasterised points render (coloured pixels in the plot), that a tap shows the
nearest image's stored explanation, that two box selections give a rendered centroid path,
and that the page logs no console errors. Screenshot: ``test-artifacts/atlas.png``.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, MARKS
from torch import nn

N, D = 400, 6

pytestmark = MARKS


def _store(root: Path):
    from latentviz.batch.store import ResultStore

    rng = np.random.default_rng(0)
    labels = (np.arange(N) < N // 2).astype(np.int64)
    z = rng.normal(0, 0.4, (N, D)).astype(np.float32)
    z[:, 0] += np.where(labels == 1, 3.0, -3.0)
    store = ResultStore(root / "cohort", job={"command": "explain", "n": N, "batch_size": 100})
    for part in range(4):
        rows = np.arange(part * 100, part * 100 + 100)
        store.write_part(
            part,
            {
                "index": rows,
                "z": z[rows],
                "label": labels[rows],
                "probability": (0.2 + 0.6 * labels[rows] + 0.1 * rng.random(100)).astype(np.float32),
                "map_lig": rng.normal(size=(100, 16, 16)).astype(np.float16),
            },
        )
    return store


def _models():
    from latentviz.models import Classifier, Generator

    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(D, 16 * 16), nn.Tanh(), nn.Unflatten(1, (1, 16, 16)))
    head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 1))
    return (
        Generator(decoder, latent_shape=(D,), device="cpu", name="toy"),
        Classifier(head, activation="sigmoid", device="cpu", name="toyclf"),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import panel as pn

    from latentviz.core.atlas import Atlas
    from latentviz.dashboard.atlas import AtlasTab

    atlas = Atlas(_store(tmp_path_factory.mktemp("atlas")))
    generator, classifier = _models()
    tabs: list[AtlasTab] = []

    def app():
        tabs.append(AtlasTab(atlas, generator, classifier))
        return tabs[-1].panel

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = pn.serve(
        app, port=port, address="127.0.0.1", show=False, threaded=True, websocket_origin=f"127.0.0.1:{port}"
    )
    try:
        yield f"http://127.0.0.1:{port}", tabs
    finally:
        server.stop()


def _text(page, css: str) -> str:
    return page.locator(css).first.evaluate("e => (e.shadowRoot || e).textContent")


def _wait_text(page, css: str, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = _text(page, css)
        if needle in text:
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"{css} never showed {needle!r}; last: {text!r}")


def test_atlas_renders_and_selections_drive_it(served) -> None:
    from playwright.sync_api import sync_playwright

    url, tabs = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="domcontentloaded")
        _wait_text(page, ".lv-atlas-status", "400 images")
        canvas = page.locator(".lv-atlas canvas").first
        canvas.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the first raster arrives after the plot's ranges
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 200

        # Points render: the plot holds viridis-coloured pixels, not just a white frame.
        shot = np.asarray(_png(page.screenshot(clip=box)))[..., :3].astype(int)
        coloured = (np.abs(shot[..., 0] - shot[..., 1]) > 40) | (np.abs(shot[..., 1] - shot[..., 2]) > 40)
        assert coloured.sum() > 50, "no coloured points in the plot"

        # Tap → the nearest image's stored explanation.
        tab = tabs[-1]
        frame = _frame(page)
        page.mouse.click(frame["x"] + frame["width"] * 0.5, frame["y"] + frame["height"] * 0.5)
        status = _wait_text(page, ".lv-atlas-status", "image #")
        assert "p = " in status and tab.point_pane.object is not None
        page.locator(".lv-atlas-point img").first.wait_for(timeout=30_000)

        # Box-select the left half → group A, the right half → group B, then the path.
        for name, (fx0, fx1) in (("a", (0.02, 0.48)), ("b", (0.52, 0.98))):
            y0, y1 = frame["y"] + 0.02 * frame["height"], frame["y"] + 0.98 * frame["height"]
            page.mouse.move(frame["x"] + fx0 * frame["width"], y0)
            page.mouse.down()
            page.mouse.move(frame["x"] + fx1 * frame["width"], y1, steps=8)
            page.mouse.up()
            _wait_text(page, ".lv-atlas-status", "images selected")
            page.locator(f".lv-atlas-group-{name} button").first.click()
            _wait_text(page, ".lv-atlas-status", f"{name.upper()}: ")
        assert set(tab.groups) == {"A", "B"} and len(tab.groups["A"]) + len(tab.groups["B"]) >= N * 0.9
        page.locator(".lv-atlas-run button").first.click()
        _wait_text(page, ".lv-atlas-status", "centroid path A → B")
        page.locator(".lv-atlas-path img").first.wait_for(timeout=30_000)
        assert tab.path is not None and tab.path.probabilities is not None

        page.screenshot(path=str(ARTIFACTS / "atlas.png"))
        browser.close()
    assert not errors, errors


def _png(data: bytes):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data))


def _frame(page) -> dict:
    """The plot's inner frame (where the data is drawn), from Bokeh's own layout."""
    rect = page.evaluate(
        """() => { for (const v of Object.values(window.Bokeh.index)) {
             const walk = (view) => { if (view.frame && view.canvas_view) return view;
               for (const c of (view.child_views || [])) { const r = walk(c); if (r) return r; }
               return null; };
             const p = walk(v); if (p) { const f = p.frame.bbox, c = p.canvas_view.el.getBoundingClientRect();
               return {x: c.left + f.left, y: c.top + f.top, width: f.width, height: f.height}; } }
           return null; }"""
    )
    assert rect is not None, "no Bokeh plot on the page"
    return rect
