"""Fixtures for the widgets tests (toy models from widget_toys.py)."""

from __future__ import annotations

import pytest
from widget_toys import toy_classifier, toy_generator

from latentviz.models import Classifier, Generator


@pytest.fixture
def generator() -> Generator:
    return toy_generator()


@pytest.fixture
def classifier() -> Classifier:
    return toy_classifier()
