"""The Directions tab and the dashboard's start-up discovery read the direction-method registry."""

from __future__ import annotations

import html

import pytest

from latentviz.dashboard.resources import DashboardConfig, load_resources
from latentviz.directions.registry import get_method, method_names
from latentviz.errors import UnknownMethodError


def test_the_tab_names_the_method_by_its_registered_label(dashboard) -> None:
    about = dashboard.directions.panel[0][0].object
    assert html.escape(get_method("sefa").label) in about


def test_start_up_discovery_takes_any_registered_method_and_refuses_others() -> None:
    assert "sefa" in method_names(interactive=True)
    with pytest.raises(UnknownMethodError, match="unknown direction method"):
        load_resources(DashboardConfig(method="pca"))
