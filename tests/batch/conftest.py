"""Fixtures of the batch tests (tiny model files, see batch_toys.py)."""

from __future__ import annotations

import batch_toys
import pytest


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return batch_toys.make_model_files(tmp_path_factory.mktemp("batch-models"))
