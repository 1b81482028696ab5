"""The documentation site builds in strict mode (a broken link or reference fails it).

mkdocs-jupyter renders docs/tutorials/ as they are (``execute: false``): the build never runs
a notebook, so this test takes seconds, not minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocs_jupyter")


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold ``!!python/name`` tags; the nav needs none of them."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return out


def _html(site: Path, page: str) -> str:
    stem = page.removesuffix(".md").removesuffix(".ipynb")
    path = site / "index.html" if stem == "index" else site / stem.removesuffix("/index") / "index.html"
    assert path.is_file(), f"{page} was not built ({path})"
    return path.read_text()


def test_every_nav_page_is_built(site: Path) -> None:
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)["nav"]
    pages = _nav_pages(nav)
    assert len(pages) >= 20
    for page in pages:
        _html(site, page)


@pytest.mark.parametrize(
    ("page", "needle"),
    [
        ("getting-started.md", "latentviz serve"),
        ("own-data.md", "deidentify_dataset"),
        ("dashboard.md", "--basic-auth"),
        ("binder.md", "mybinder.org"),
        ("benchmarks.md", "latentviz bench --quick"),
        ("evaluation_explanations.md", "rank_randomized"),
        ("concepts/medxgan.md", "completeness"),
    ],
)
def test_key_pages_say_what_they_are_for(site: Path, page: str, needle: str) -> None:
    assert needle in _html(site, page)


@pytest.mark.parametrize(
    ("page", "objects"),
    [
        ("api/data.md", ["latentviz.data.read_image", "latentviz.data.MedicalImage.windowed"]),
        ("api/models.md", ["latentviz.models.Generator", "latentviz.models.io.save_model"]),
        (
            "api/explain.md",
            [
                "latentviz.explain.LatentIntegratedGradients",
                "latentviz.explain.invert",
                "latentviz.explain.counterfactual.counterfactual",
            ],
        ),
        (
            "api/directions.md",
            [
                "latentviz.directions.DirectionSet",
                "latentviz.directions.sefa.sefa",
                "latentviz.directions.ganspace.ganspace",
                "latentviz.directions.voynov.voynov",
                "latentviz.directions.registry.DirectionMethod",
                "latentviz.directions.registry.register_method",
                "latentviz.directions.discover.discover",
            ],
        ),
        ("api/core.md", ["latentviz.core.ExplorerSession", "latentviz.core.LatestWinsWorker"]),
        ("api/dashboard.md", ["latentviz.dashboard.app.app_factory"]),
    ],
)
def test_api_reference_documents_the_public_objects(site: Path, page: str, objects: list[str]) -> None:
    html = _html(site, page)
    for name in objects:
        assert f'id="{name}"' in html, f"{name} is missing from {page}"


def test_api_pages_show_no_raw_sphinx_roles(site: Path) -> None:
    for page in (site / "api").rglob("index.html"):
        html = page.read_text()
        assert not re.search(r":(class|func|mod|meth|attr|data|exc):`", html), page


def test_tutorials_render_with_their_pictures(site: Path) -> None:
    html = _html(site, "tutorials/01_quickstart.ipynb")
    assert "DirectionExplorer.from_zoo" in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 3
