"""Shared fixtures of the model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 images of 16 px: a bright disk means positive."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    labels = np.arange(32) % 2
    images = np.full((32, 16, 16), -0.6, np.float32) + rng.normal(0, 0.05, (32, 16, 16)).astype(np.float32)
    for i in np.flatnonzero(labels):
        cy, cx = rng.integers(4, 12, 2)
        images[i][(yy - cy) ** 2 + (xx - cx) ** 2 < 6] = 0.8
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, images=np.clip(images, -1, 1), labels=labels)
    return path
