"""latentviz: look inside the latent spaces of generative models of medical images.

The layers, lowest first: :mod:`latentviz.data` → :mod:`latentviz.models` →
:mod:`latentviz.directions` and :mod:`latentviz.explain` → :mod:`latentviz.core` →
the views (:mod:`latentviz.widgets`, :mod:`latentviz.dashboard`) and the CLI.
A lower layer never imports a higher one.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
