"""Packaging metadata: SPDX licence, Python classifiers, project URLs, what the sdist carries,
and optional heavy dependencies (umap-learn, the MP4 writer) only in the extras that need them."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

pytestmark = pytest.mark.skipif(not PYPROJECT.is_file(), reason="needs the source checkout")


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def _names(reqs: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in reqs}


def test_license_is_an_spdx_string_without_a_licence_classifier() -> None:
    project = _project()
    assert project["license"] == "Apache-2.0"  # not the deprecated {text = ...} table
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_python_classifiers_follow_requires_python() -> None:
    project = _project()
    assert project["requires-python"] == ">=3.10"
    versions = {c.rsplit(" ", 1)[-1] for c in project["classifiers"] if c.startswith("Programming Language")}
    assert {"3.10", "3.11", "3.12", "3.13"} <= versions


def test_project_urls_use_the_readme_owner_placeholder() -> None:
    urls = _project()["urls"]
    assert urls["Repository"] == "https://github.com/OWNER/latentviz"
    assert all(u.startswith("https://github.com/OWNER/latentviz") for u in urls.values())
    assert "mybinder.org/v2/gh/OWNER/latentviz" in (ROOT / "README.md").read_text()


def test_umap_only_in_its_extra() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert "umap-learn" not in _names(project["dependencies"])
    holders = {name for name, reqs in extras.items() if "umap-learn" in _names(reqs)}
    assert holders == {"umap"}
    # numba/llvmlite for one optional view: neither in README's install (all) nor in CI's (dev).
    assert "umap" not in Requirement(extras["all"][0]).extras
    assert "umap" not in Requirement(extras["dev"][0]).extras


def test_video_extra_is_in_dev() -> None:
    extras = _project()["optional-dependencies"]
    assert "imageio-ffmpeg" in _names(extras["video"])
    assert "video" in Requirement(extras["dev"][0]).extras


def test_the_atlas_does_not_import_umap() -> None:
    code = "import sys, latentviz.core.atlas; assert 'umap' not in sys.modules, 'umap imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_sdist_carries_tests_docs_and_examples(tmp_path: Path) -> None:
    # The PEP 517 hook `python -m build --sdist` calls, run without an isolated environment.
    pytest.importorskip("setuptools", minversion="77", reason="the build backend pyproject names")
    code = f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    sdist = tmp_path / out.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/PKG-INFO").read().decode()
    for required in (
        "LICENSE",
        "README.md",
        "MANIFEST.in",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "docs/index.md",
        "examples/01_quickstart.ipynb",
        "latentviz/py.typed",
    ):
        assert required in names, f"the sdist lacks {required}"
    assert not [n for n in names if n.endswith(".pyc")]
    assert "License-Expression: Apache-2.0" in pkg_info
    assert "Project-URL: Repository, https://github.com/OWNER/latentviz" in pkg_info
