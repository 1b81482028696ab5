"""Fixtures of the batch tests (tiny model files, see batch_toys.py)."""

from __future__ import annotations

import batch_toys
import pytest
import torch


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return batch_toys.make_model_files(tmp_path_factory.mktemp("batch-models"))


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """32 px toy models gain nothing from intra-op threads, and one thread per process keeps
    the in-process loop comparable with one-thread dask workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
