"""docs/tutorials/ holds executed, slim copies of every example notebook, in step with examples/.

If an example changes, these tests fail until ``python docs/build_tutorials.py`` is run again,
so the rendered tutorials cannot go stale silently.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from docs_scripts import load_docs_script

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("[0-9][0-9]_*.ipynb"))
TUTORIALS = ROOT / "docs" / "tutorials"


bt = load_docs_script("build_tutorials")


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/NN_*.ipynb not found"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_tutorial_matches_its_example(example: Path) -> None:
    tutorial = TUTORIALS / example.name
    assert tutorial.is_file(), f"run: python docs/build_tutorials.py {example.name[:2]}"
    src, out = nbformat.read(example, as_version=4), nbformat.read(tutorial, as_version=4)
    assert bt.code_cells(out) == bt.code_cells(src), f"{tutorial.name} is stale: rebuild it"
    assert bt.markdown_cells(out) == bt.markdown_cells(src), f"{tutorial.name} is stale: rebuild it"
    stamps = [c for c in out.cells if "latentviz-tutorial-stamp" in c.metadata.get("tags", [])]
    assert len(stamps) == 1 and stamps[0].source.startswith(bt.STAMP_PREFIX)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_tutorial_is_executed_and_slim(example: Path) -> None:
    tutorial = TUTORIALS / example.name
    if not tutorial.is_file():
        pytest.fail(f"{tutorial} missing")
    assert tutorial.stat().st_size < bt.MAX_NOTEBOOK_BYTES
    nb = nbformat.read(tutorial, as_version=4)
    assert "widgets" not in nb.metadata
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code if c.source.strip()), "not executed"
    n_png = 0
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"{tutorial.name}: a cell raised"
            data = out.get("data", {})
            assert set(data) <= set(bt.KEEP_MIMES), set(data) - set(bt.KEEP_MIMES)
            n_png += "image/png" in data
    assert n_png >= 1, f"{tutorial.name} shows no picture"


IDENTIFYING = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "InstitutionName",
    "AccessionNumber",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
)


@pytest.mark.parametrize("dicom", ["CT_small.dcm", "RG1_UNCI.dcm"])
def test_tutorials_show_no_identifier_of_the_dicoms_the_examples_read(dicom: str) -> None:
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    path = get_testdata_file(dicom)
    if path is None:
        pytest.skip(f"{dicom} is not installed (pydicom-data)")
    ds = dcmread(path)
    values = {str(ds.get(k, "")) for k in IDENTIFYING} - {""}
    values = {v for v in values if len(v) >= 6}  # short values would match ordinary words
    assert values
    for tutorial in TUTORIALS.glob("*.ipynb"):
        text = tutorial.read_text()
        leaked = [v for v in values if v in text]
        assert not leaked, f"{tutorial.name} shows identifiers of {dicom}: {leaked}"


def _out(mime: str, payload: object) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={mime: payload, "text/plain": "repr"})


def test_slim_replaces_widgets_and_drops_heavy_outputs() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        _out(bt.WIDGET_MIME, {"model_id": "abc"}),
        _out("text/html", "<script>" + "x" * (bt.MAX_HTML + 1) + "</script>"),
        _out("image/png", "iVBORw0KGgo="),
        _out("image/gif", "R0lGOD"),
        nbformat.v4.new_output("stream", name="stderr", text="10%\r50%\r100% done\nnext\n"),
        nbformat.v4.new_output("stream", name="stderr", text="\r"),
    ]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"state": {}}
    bt.slim(nb)
    outs = nb.cells[0].outputs
    assert "widgets" not in nb.metadata
    assert outs[0].data == {"text/plain": bt.WIDGET_NOTE}
    pictured = nbformat.v4.new_output(
        "display_data",
        data={bt.WIDGET_MIME: {"model_id": "b"}, "image/png": "iVBORw0KGgo=", "text/plain": "x"},
    )
    assert bt._slim_output(pictured).data == {"image/png": "iVBORw0KGgo=", "text/plain": bt.WIDGET_NOTE}
    assert outs[1].data == {"text/plain": "repr"}  # the big HTML is gone, its repr stays
    assert set(outs[2].data) == {"image/png", "text/plain"}
    assert outs[3].data == {"text/plain": "repr"}  # GIF dropped
    assert outs[4].text == "100% done\nnext\n"
    assert len(outs) == 5  # the empty progress-bar stream is gone


def test_stamp_is_inserted_after_the_title_once() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1")]
    bt.stamp(nb, quick=True, seconds=3.0)
    assert nb.cells[1].source.startswith(bt.STAMP_PREFIX) and "LATENTVIZ_QUICK=1" in nb.cells[1].source
    assert bt.markdown_cells(nb) == ["# Title"] and bt.code_cells(nb) == ["1"]
