"""Execute every example notebook as a user would (fresh kernel, top to bottom) with tiny budgets.

Each notebook reads ``LATENTVIZ_QUICK=1``. It runs where JupyterLab runs it, in its own folder with
``LATENTVIZ_OUT`` unset (so it writes to ``outputs/`` next to it), but in a throwaway git copy of
``examples/`` and of every ``.gitignore``: afterwards ``git status`` must show nothing the run made,
in the copy or in the checkout. A cell that raises fails the test. Beyond running cleanly, each
notebook must produce the result it teaches: the checks below read its outputs and the files it
wrote. Each notebook also states its measured run time at its default budgets at the top, offers
its full budget in one cell, and the quick run must fit in :data:`QUICK_LIMIT_S`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from PIL import Image

nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))

QUICK_LIMIT_S = 240  # a LATENTVIZ_QUICK=1 run, kernel start included, on a (shared) 2-core CPU
DEFAULT_LIMIT_S = 240  # the stated, measured run time at the default budgets: "a few minutes"
RUN_TIME = re.compile(r"\*Run time at the default budgets: (\d+) s \(")


def _text(nb: nbformat.NotebookNode) -> str:
    """All stdout and markdown/plain outputs of the executed notebook, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            for mime in ("text/markdown", "text/plain"):
                if mime in out.get("data", {}):
                    parts.append(out["data"][mime])
    return "\n".join(parts)


def _n_images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


def _widgets(nb: nbformat.NotebookNode) -> int:
    mime = "application/vnd.jupyter.widget-view+json"
    return sum(mime in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


def check_quickstart(nb, text: str, out: Path) -> None:
    assert _widgets(nb) >= 1 and _n_images(nb) >= 3
    assert Image.open(out / "quickstart_walk.gif").n_frames == 8
    strip = Image.open(out / "quickstart_strip.png")
    assert strip.width > 5 * strip.height  # 7 labelled frames side by side
    assert "refused:" in text and "built for model" in text
    assert re.search(r"classifier p\(positive\) = 0\.\d{3}", text)


def check_directions(nb, text: str, out: Path) -> None:
    for model in ("ct-dcgan", "ct-vae"):
        assert f"## {model} (ct phantom)" in text
    for method in ("sefa", "ganspace", "voynov"):
        assert len(re.findall(rf"^\| {method} \| 4 \|", text, flags=re.M)) == 2, method
        assert (out / f"strips_ct-dcgan_{method}.png").is_file() or method == "ganspace"
    assert "| body_width |" in text  # the regressor's R² table


def check_medxgan(nb, text: str, out: Path) -> None:
    assert _widgets(nb) >= 1
    fig = Image.open(out / "medxgan_vs_gradcam.png")
    assert fig.width > 7 * 64  # eight panels side by side
    for method in ("medxgan", "lig", "gradcam", "ig"):
        assert re.search(rf"^\| {method} \|", text, flags=re.M), method
    assert re.search(r"PSNR \d+\.\d dB", text)


def check_interpolation(nb, text: str, out: Path) -> None:
    assert _widgets(nb) >= 2
    assert Image.open(out / "interpolation.gif").n_frames == 12
    assert (out / "interpolation_accumulation.png").stat().st_size > 10_000
    share = re.search(r"holds (\d+\.\d)% of the accumulated change", text)
    assert share is not None and 0 < float(share.group(1)) <= 100
    probs = re.search(r"p\(positive\) from α=0 to α=1: \[([^\]]+)\]", text)
    assert probs is not None and len(probs.group(1).split()) == 12
    assert "p along the negative-to-positive GAN path" in text


def check_own_data(nb, text: str, out: Path) -> None:
    assert "identifying tags in the metadata:   []" in text
    assert "PatientName" in text  # ... although the file has them
    assert "TorchScript generator reproduces the module: True" in text
    assert "photometric MONOCHROME1" in text
    assert (out / "ct_windows.png").is_file() and (out / "my_decoder.pt").is_file()
    assert _widgets(nb) >= 3


def check_centroids(nb, text: str, out: Path) -> None:
    means = re.search(r"mean body_width per stratum: \[([^\]]+)\]", text)
    assert means is not None
    values = [float(v) for v in means.group(1).split()]
    assert values == sorted(values) and len(values) == 4
    assert (out / "centroid_body_width.png").is_file() and (out / "centroid_prediction.png").is_file()
    rates = re.search(r"lesion rate per stratum \(ground truth\): \[([^\]]+)\]", text)
    assert rates is not None
    lesion_rate = [float(v) for v in rates.group(1).split(",")]
    assert lesion_rate[0] < 0.5 < lesion_rate[-1]  # the classifier's strata separate the lesions
    assert "mean p of the images in each stratum" in text and _widgets(nb) >= 1


def check_style(nb, text: str, out: Path) -> None:
    for name in ("reconstruction", "layer_ranges", "attfind", "centroid_path", "counterfactuals"):
        assert (out / f"style_{name}.png").is_file(), name
    # Every style method reports whether its map may be read; a walk reports its two ends.
    for key in ("lig", "style_cf", "style_lig", "latent_shift"):
        assert re.search(rf"^{key} +trusted=(True|False)", text, flags=re.M), key
    assert re.search(r"^style_cf +trusted=\w+ +walk p [\d.]+ -> [\d.]+", text, flags=re.M)
    psnr = re.search(r"encoder reconstruction: median PSNR ([\d.]+) dB", text)
    assert psnr is not None and float(psnr.group(1)) > 10
    z = re.search(r"Z: \[([^\]]+)\]", text)
    w = re.search(r"W: \[([^\]]+)\]", text)
    assert z is not None and w is not None
    # The mapping network shapes W: its first component explains more than Z's (isotropic).
    assert float(w.group(1).split()[0]) > float(z.group(1).split()[0])
    assert len(re.findall(r"^attfind block \d+ \(\d+ px\) ch \d+", text, flags=re.M)) == 3
    assert "last-style edit" in text and "stratum mean p:" in text and _widgets(nb) >= 1


CHECKS: dict[str, Callable] = {
    "01_quickstart": check_quickstart,
    "02_discover_directions": check_directions,
    "03_medxgan_vs_gradcam": check_medxgan,
    "04_latent_interpolation": check_interpolation,
    "05_your_own_data": check_own_data,
    "06_clinical_feature_paths": check_centroids,
    "07_style_based": check_style,
}


def test_every_notebook_has_a_check() -> None:
    assert [p.stem for p in NOTEBOOKS] == sorted(CHECKS)


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert any("LATENTVIZ_QUICK" in c.source for c in code), path.name


def _stated_seconds(path: Path) -> int:
    head = nbformat.read(path, as_version=4).cells[0]
    assert head.cell_type == "markdown", path.name
    found = RUN_TIME.search(head.source)
    assert found, f"{path.name}: the first cell must state '*Run time at the default budgets: N s (...'"
    assert "load average" in head.source, path.name  # ... and under what load it was measured
    return int(found.group(1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_states_its_run_time_and_offers_the_full_budget(path: Path) -> None:
    assert 0 < _stated_seconds(path) <= DEFAULT_LIMIT_S, "the default budget must finish in a few minutes"
    cells = nbformat.read(path, as_version=4).cells
    heads = [
        i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Full budget")
    ]
    assert len(heads) == 1, f"{path.name}: one '## Full budget' section"
    cell = cells[heads[0] + 1]
    assert cell.cell_type == "code"
    assert re.match(r"FULL = False  # set True for the full budget \(", cell.source), cell.source
    assert "parameters" in cell.metadata.get("tags", [])  # papermill -p FULL True
    later = [c.source for c in cells[heads[0] + 2 :] if c.cell_type == "code"]
    assert any(re.search(r"\bFULL\b", src) for src in later), f"{path.name}: FULL is never used"


def test_examples_readme_tabulates_the_stated_run_times() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    assert f"{len(NOTEBOOKS)} notebooks" in readme.replace("Seven", "7")
    for path in NOTEBOOKS:
        row = re.search(rf"^\| `{re.escape(path.name)}` \| (\d+) s \|", readme, flags=re.M)
        assert row, f"examples/README.md: no run-time row for {path.name}"
        assert int(row.group(1)) == _stated_seconds(path), path.name


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _status(cwd: Path) -> set[str]:
    return set(_git("status", "--porcelain", "--untracked-files=all", cwd=cwd).splitlines())


def _checkout_copy(dest: Path) -> Path | None:
    """A git repository holding the checkout's examples/ and its .gitignore files, or None."""
    if shutil.which("git") is None:
        return None
    try:
        top = Path(_git("rev-parse", "--show-toplevel", cwd=ROOT).strip())
        files = _git("ls-files", "--", "examples", ".gitignore", ":(glob)**/.gitignore", cwd=top).split()
    except subprocess.CalledProcessError:
        return None
    if top.resolve() != ROOT.resolve() or not files:
        return None
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(top / name, dest / name)
    _git("init", "-q", cwd=dest)
    _git("add", "-A", cwd=dest)
    _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "copy", cwd=dest)
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _checkout_copy(tmp_path / "checkout")
    where = copy / "examples" if copy is not None else tmp_path
    shutil.copy2(path, where / path.name)
    before = _status(ROOT) if copy is not None else set()
    monkeypatch.setenv("LATENTVIZ_QUICK", "1")
    monkeypatch.delenv("LATENTVIZ_OUT", raising=False)  # as in JupyterLab: outputs/ next to the notebook
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(where / path.name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    seconds = time.perf_counter() - t0
    CHECKS[path.stem](nb, _text(nb), where / "outputs")
    load = os.getloadavg()[0]
    assert seconds < QUICK_LIMIT_S, f"quick run took {seconds:.0f} s (load average {load:.1f})"
    if copy is None:
        pytest.skip("the notebook ran and passed its checks; not a git checkout: git status not checked")
    made = _status(copy)
    assert not made, f"running {path.name} changed or left files git does not ignore: {sorted(made)}"
    new = _status(ROOT) - before
    assert not new, f"running {path.name} changed the checkout: {sorted(new)}"
