"""The benchmark harness: ``latentviz bench``.

Every area of latentviz adds its rows through a module ``latentviz.bench.<area>``
that defines ``AREA`` (a title) and ``rows(quick: bool) -> list[Row]``. The harness
runs the selected areas in one process, so figures and ratios are measured side by
side, and prints a table (or JSON) of medians.
"""

from __future__ import annotations

from latentviz.bench.harness import AREAS, Row, measure, run_areas

__all__ = ["AREAS", "Row", "measure", "run_areas"]
