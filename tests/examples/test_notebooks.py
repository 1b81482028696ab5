"""Execute every example notebook as a user would (fresh kernel, top to bottom) with tiny budgets.

Each notebook reads ``LATENTVIZ_QUICK=1`` and writes its files under ``LATENTVIZ_OUT``. A cell that
raises fails the test. Beyond running cleanly, each notebook must produce the result it teaches: the
checks below read its outputs and the files it wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from PIL import Image

nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))


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
    for name in ("reconstruction", "layer_ranges", "attfind", "centroid_path"):
        assert (out / f"style_{name}.png").is_file(), name
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


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("LATENTVIZ_QUICK", "1")
    monkeypatch.setenv("LATENTVIZ_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    CHECKS[path.stem](nb, _text(nb), out)
