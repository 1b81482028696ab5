"""Shared pytest fixtures."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

# Tests run on the CPU with a fixed thread count so timings and numerics are stable.
os.environ.setdefault("LATENTVIZ_DEVICE", "cpu")
# The CLI's help cache of this test run lives in a fresh folder, not in the user's home.
if "LATENTVIZ_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["LATENTVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="latentviz-test-cache-")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
