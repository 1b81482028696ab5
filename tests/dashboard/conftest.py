"""Fixtures for the dashboard tests: the default zoo resources, loaded once per run."""

from __future__ import annotations

import pytest

pytest.importorskip("panel")
pytest.importorskip("holoviews")


@pytest.fixture(scope="session")
def resources():
    from latentviz.dashboard.resources import DashboardConfig, load_resources

    return load_resources(DashboardConfig())


@pytest.fixture
def dashboard(resources):
    from latentviz.dashboard.app import DashboardSession

    session = DashboardSession(resources)
    assert session.interpolation.session is None  # nothing computed before the tab is shown
    session.tabs.active = 2
    assert session.interpolation.wait(60) and session.interpolation.session is not None
    yield session
    session.close()
