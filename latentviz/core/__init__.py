"""The UI-free interactive core shared by the notebook widgets and the Panel dashboard.

Sessions hold a model, a latent, directions, a frame cache and a latest-wins compute
worker; :mod:`latentviz.core.render` turns arrays into PNG/GIF bytes. Nothing here
imports ipywidgets or panel: a view sets state, submits a snapshot to the session's
worker and shows the bytes it gets back.
"""

from __future__ import annotations

from latentviz.core import render
from latentviz.core.directions import BoundDirections, bind_directions
from latentviz.core.explanation import (
    ExplanationCancelled,
    ExplanationOptions,
    ExplanationResult,
    ExplanationSession,
    OptionSpec,
    Panel,
)
from latentviz.core.explorer import ExplorerFrame, ExplorerSession, ExplorerState
from latentviz.core.interpolation import InterpolationFrame, InterpolationSession
from latentviz.core.throttle import LatestWinsWorker, WorkerStats

__all__ = [
    "BoundDirections",
    "ExplanationCancelled",
    "ExplanationOptions",
    "ExplanationResult",
    "ExplanationSession",
    "ExplorerFrame",
    "ExplorerSession",
    "ExplorerState",
    "InterpolationFrame",
    "InterpolationSession",
    "LatestWinsWorker",
    "OptionSpec",
    "Panel",
    "WorkerStats",
    "bind_directions",
    "render",
]
