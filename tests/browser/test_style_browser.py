"""A style-based model in the real dashboard: the latent space is named, the style-layer
control exists and re-renders, and the page logs no errors (Debian's Chromium)."""

from __future__ import annotations

import time

import pytest
import torch
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, DEEP_TEXT, MARKS, serve

from latentviz.models.architectures.stylegan import StyleGAN2Generator
from latentviz.models.io import save_model

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("style")
    torch.manual_seed(0)
    kw = {
        "image_size": 64,
        "z_dim": 16,
        "w_dim": 16,
        "n_mlp": 2,
        "channel_base": 128,
        "channel_max": 8,
        "encoder": "w",
    }
    save_model(
        StyleGAN2Generator(**kw), {"architecture": "style-gaan", "kwargs": kw, "data": "ct"}, tmp / "sg"
    )
    logfile = tmp / "serve.log"
    with serve(["--model", str(tmp / "sg"), "--method", "ganspace", "--k", "3"], logfile) as proc:
        yield proc.url


def _src(page, css: str) -> str:
    return page.locator(f"{css} img").first.get_attribute("src") or ""


def test_style_layers_control_re_renders_the_frame(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/", wait_until="domcontentloaded")
        page.locator(".lv-frame img").first.wait_for(timeout=90_000)
        page.locator(".bk-tab", has_text="Directions").first.click()
        page.wait_for_timeout(500)
        assert "latent space w+" in page.evaluate(DEEP_TEXT)
        select = page.locator(".lv-style-layers select").first
        select.wait_for(timeout=30_000)
        labels = select.locator("option").all_inner_texts()
        assert any(t.startswith("fine (") for t in labels) and any(t.startswith("coarse (4") for t in labels)
        # Move the first slider, then restrict it to the fine layers: the frame changes again.
        handle = page.locator(".lv-direction-slider .noUi-handle").first
        box = handle.bounding_box()
        page.mouse.move(box["x"] + 3, box["y"] + 3)
        page.mouse.down()
        page.mouse.move(box["x"] + 150, box["y"] + 3, steps=8)
        page.mouse.up()
        page.wait_for_timeout(1500)
        before = _src(page, ".lv-frame")
        fine = next(t for t in labels if t.startswith("fine ("))
        select.select_option(label=fine)
        deadline = time.monotonic() + 30
        while _src(page, ".lv-frame") == before and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert _src(page, ".lv-frame") != before
        page.locator(".lv-app").first.screenshot(path=str(ARTIFACTS / "dashboard_style_layers.png"))
        assert not errors, errors
        browser.close()
