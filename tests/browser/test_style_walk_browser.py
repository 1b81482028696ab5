"""The style walks in the real dashboard (``latentviz serve --autoencoder``, Debian's Chromium).

The zoo's cxr-medxgan, cxr-classifier and cxr-gaan explain phantom seed 0 with the style
counterfactual and Latent Shift. What the page must show is fixed by those models: the
style walk flips the classifier and its panel carries the walk's start and end p; Latent
Shift explains cxr-gaan's reconstruction, which the classifier already calls negative, so
its panel is washed out, titled NO COUNTERFACTUAL, framed in red, and the alert above the
panels says so (``latentviz explain ... --autoencoder cxr-gaan`` reports the same).
"""

from __future__ import annotations

import re

import pytest
from browser_kit import ARGS, ARTIFACTS, CHROMIUM, DEEP_TEXT, MARKS, serve

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    logfile = tmp_path_factory.mktemp("style-walk") / "serve.log"
    argv = ["--model", "cxr-medxgan", "--classifier", "cxr-classifier", "--autoencoder", "cxr-gaan"]
    argv += ["--k", "2"]
    with serve(argv, logfile) as proc:
        yield proc.url


def test_a_failed_walk_is_said_on_screen_and_a_flipped_one_shows_its_walk(server: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/", wait_until="domcontentloaded")
        page.locator(".lv-frame img").first.wait_for(timeout=90_000)
        page.locator(".bk-tab", has_text="Explain").first.click()
        page.wait_for_timeout(300)
        assert "autoencoder cxr-gaan" in " ".join(page.evaluate(DEEP_TEXT).split())
        page.get_by_text("options", exact=True).first.click()  # the methods live in this card
        methods = page.locator(".lv-methods label")
        methods.first.wait_for(timeout=30_000)
        names = methods.all_inner_texts()
        for want in ("style counterfactual", "style-path LIG", "Latent Shift"):
            assert any(want == n.strip() for n in names), names
        for i, name in enumerate(names):  # exactly the two methods of the test
            box = methods.nth(i).locator("input")
            if box.is_checked() != (name.strip() in ("style counterfactual", "Latent Shift")):
                box.click()
        page.locator(".lv-phantom button").first.click()
        page.wait_for_function(
            f"() => ({DEEP_TEXT})().includes('in use: phantom sample, seed 0')", timeout=60_000
        )
        page.locator(".lv-explain button").first.click()
        page.locator(".lv-panel-latent_shift img").first.wait_for(timeout=300_000)
        page.locator(".lv-panel-style_cf img").first.wait_for(timeout=30_000)
        page.wait_for_timeout(800)
        text = " ".join(page.evaluate(DEEP_TEXT).split())
        alert = page.locator(".lv-low-fidelity").first.evaluate("e => (e.shadowRoot || e).textContent")
        page.locator(".lv-app").first.screenshot(path=str(ARTIFACTS / "dashboard_style_walks.png"))
        browser.close()
    assert "NO COUNTERFACTUAL (Latent Shift)" in alert, alert
    assert "Latent Shift — NO COUNTERFACTUAL" in text
    assert "style counterfactual — NO COUNTERFACTUAL" not in text
    walk = re.search(r"p (\d\.\d+) → (\d\.\d+) along the walk", text)
    assert walk is not None, text[-2000:]
    assert float(walk.group(1)) > 0.5 > float(walk.group(2))  # the style walk flipped the classifier
    assert not errors, errors
