"""Execute the example notebooks and write slim executed copies to ``docs/tutorials/``.

Usage, from the repository root::

    python docs/build_tutorials.py             # every examples/NN_*.ipynb, default budgets
    python docs/build_tutorials.py --quick     # LATENTVIZ_QUICK=1: the small CI budgets
    python docs/build_tutorials.py 01 04       # only the notebooks whose names start so

Each notebook runs top to bottom in a fresh kernel (nbclient) in a temporary folder, so the
files it writes do not land in the repository. The copy the docs render keeps the code and
markdown cells unchanged (``tests/docs/test_tutorials.py`` checks that they match
``examples/``) and slims the outputs: PNG images, plain text, small HTML; interactive widget
views become a one-line note (the static site cannot run them), widget state is dropped, and
carriage-return progress bars keep only their last state. A note at the top says how and
when the copy was executed. The site build itself never executes notebooks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

__all__ = ["build", "code_cells", "execute", "markdown_cells", "slim", "stamp"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TUTORIALS = ROOT / "docs" / "tutorials"

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
KEEP_MIMES = ("image/png", "text/markdown", "text/html", "text/plain")
MAX_HTML = 20_000  # characters: a table is welcome, a bundled plotly.js is not
MAX_NOTEBOOK_BYTES = 1_500_000
WIDGET_NOTE = "[interactive widget: run this notebook in Jupyter, or on Binder, to use it]"
STAMP_PREFIX = "*Executed by `docs/build_tutorials.py`"


def _slim_stream(text: str) -> str:
    """Keep the last state of every carriage-return-updated line (tqdm in a terminal)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _slim_output(out: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    if out.output_type == "stream":
        out.text = _slim_stream(out.text)
        return out if out.text.strip() else None
    if out.output_type not in ("display_data", "execute_result"):
        return out  # errors are kept: the build refuses them anyway
    data = out.get("data", {})
    if WIDGET_MIME in data:
        return nbformat.v4.new_output("display_data", data={"text/plain": WIDGET_NOTE})
    kept = {m: data[m] for m in KEEP_MIMES if m in data}
    if len(kept.get("text/html", "")) > MAX_HTML:
        kept.pop("text/html")
    if "image/png" in kept:  # the image says it all; its repr would only add noise
        kept.pop("text/html", None)
    if not kept:
        return None
    out.data = kept
    out.metadata = {k: v for k, v in out.get("metadata", {}).items() if k == "image/png"}
    return out


def slim(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop widget state and heavy outputs in place (see the module docstring)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        slimmed = [_slim_output(o) for o in cell.outputs]
        cell.outputs = [o for o in slimmed if o is not None]
    return nb


def stamp(nb: nbformat.NotebookNode, quick: bool, seconds: float) -> None:
    """Insert a markdown cell saying how the copy was made (replaced, not stacked)."""
    mode = "`LATENTVIZ_QUICK=1` (the small CI budgets)" if quick else "the default budgets"
    import torch

    text = (
        f"{STAMP_PREFIX} on {time.strftime('%Y-%m-%d')} with {mode}, torch {torch.__version__} on "
        f"CPU, in {seconds:.0f} s. Interactive widgets appear as a note; run the notebook in "
        "Jupyter (or on Binder) to use them.*"
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["latentviz-tutorial-stamp"]
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, cell)


def execute(path: Path, quick: bool, timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Run ``path`` in a fresh kernel in a temporary folder; the executed notebook and seconds."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="latentviz-tutorial-") as tmp:
        saved = {k: os.environ.get(k) for k in ("LATENTVIZ_QUICK", "LATENTVIZ_OUT")}
        os.environ["LATENTVIZ_OUT"] = str(Path(tmp) / "outputs")
        if quick:
            os.environ["LATENTVIZ_QUICK"] = "1"
        else:
            os.environ.pop("LATENTVIZ_QUICK", None)
        try:
            t0 = time.perf_counter()
            NotebookClient(
                nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": tmp}}
            ).execute()
            seconds = time.perf_counter() - t0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return nb, seconds


def build(path: Path, quick: bool, timeout: int) -> Path:
    nb, seconds = execute(path, quick, timeout)
    slim(nb)
    stamp(nb, quick, seconds)
    TUTORIALS.mkdir(parents=True, exist_ok=True)
    target = TUTORIALS / path.name
    nbformat.write(nb, target)
    size = target.stat().st_size
    print(f"{path.name}: {seconds:.0f} s, {size / 1e6:.2f} MB -> {target.relative_to(ROOT)}")
    if size > MAX_NOTEBOOK_BYTES:
        print(f"  warning: larger than {MAX_NOTEBOOK_BYTES / 1e6:.1f} MB", file=sys.stderr)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose names start with these")
    parser.add_argument("--quick", action="store_true", help="run with LATENTVIZ_QUICK=1")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    args = parser.parse_args(argv)
    notebooks = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        notebooks = [p for p in notebooks if any(p.name.startswith(x) for x in args.prefixes)]
    if not notebooks:
        print("no notebooks matched", file=sys.stderr)
        return 1
    for path in notebooks:
        build(path, args.quick, args.timeout)
    return 0


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of a notebook's code cells (what the tutorials must keep identical)."""
    return [c.source for c in nb.cells if c.cell_type == "code"]


def markdown_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The markdown cells, without the stamp this script adds."""
    return [
        c.source
        for c in nb.cells
        if c.cell_type == "markdown" and "latentviz-tutorial-stamp" not in c.metadata.get("tags", [])
    ]


if __name__ == "__main__":
    sys.exit(main())
