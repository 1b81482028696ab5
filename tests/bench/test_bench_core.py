"""The core benchmark runs over every generator of the zoo (timings are not checked here)."""

from __future__ import annotations

import math

from latentviz import zoo
from latentviz.bench import core
from latentviz.models.generator import Generator


def test_a_slider_row_for_every_zoo_generator_including_the_style_based_ones() -> None:
    gens = [n for n in zoo.names() if isinstance(zoo.load(n), Generator)]
    assert any(n.endswith("-gaan") for n in gens)  # the style-based models are in the zoo
    for name in gens:
        g = zoo.load(name)
        row = core._slider_row(name, g, None, repeats=3)
        assert row.name.startswith(f"slider → frame bytes, {name} ") and math.isfinite(row.value)
        assert row.value > 0 and row.p95 >= row.value * 0.5
