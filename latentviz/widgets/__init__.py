"""Notebook widgets: thin ipywidgets views over :mod:`latentviz.core`.

* :class:`DirectionExplorer`: sliders over latent directions.
* :class:`ExplanationPanel`: inversion, counterfactual and attribution maps side by side.
* :class:`InterpolationPlayer`: play and scrub a latent path with a probability curve.
* :class:`AtlasView`: a cohort's latents in 2D (a ``latentviz batch`` store), with explanations
  and centroid paths between selected groups.

Needs the ``notebook`` extra (``pip install latentviz[notebook]``).
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
    import plotly  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    from latentviz.errors import DependencyMissingError

    raise DependencyMissingError(
        f"latentviz.widgets needs {exc.name}: pip install 'latentviz[notebook]'"
    ) from exc

from latentviz.widgets.atlas import AtlasView
from latentviz.widgets.explorer import DirectionExplorer
from latentviz.widgets.panel import ExplanationPanel
from latentviz.widgets.player import InterpolationPlayer

__all__ = ["AtlasView", "DirectionExplorer", "ExplanationPanel", "InterpolationPlayer"]
