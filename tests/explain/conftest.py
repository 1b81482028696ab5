"""Fixtures of toy models for the explain tests (see toys.py)."""

from __future__ import annotations

import explain_toys as toys
import pytest
import torch


@pytest.fixture(scope="session")
def toy_generator():
    return toys.make_generator(1)


@pytest.fixture(scope="session")
def toy_classifier(toy_generator):
    return toys.make_classifier(1)


@pytest.fixture(scope="session")
def toy_generator_rgb():
    return toys.make_generator(3)


@pytest.fixture(scope="session")
def toy_classifier_rgb(toy_generator_rgb):
    return toys.make_classifier(3)


@pytest.fixture(scope="session")
def toy_autoencoder():
    return toys.make_generator(1, encoder=True)


@pytest.fixture(scope="session")
def toy_style_autoencoder():
    return toys.make_style_autoencoder()


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread (and do not fight other jobs for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
