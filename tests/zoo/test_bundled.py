"""The shipped zoo: every model loads offline, fast, checksum-verified, and meets its gates."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import torch

from latentviz import zoo
from latentviz.errors import ChecksumError, ModelFileError
from latentviz.models import Classifier, Generator, quality
from latentviz.models.io import load_model
from latentviz.models.style import StyleGenerator

REQUIRED = [
    "cxr-classifier",
    "cxr-medxgan",
    "cxr-dcgan",
    "cxr-vae",
    "ct-dcgan",
    "ct-vae",
    "brain-classifier",  # nilearn ships the MNI template of the brain phantom (a dev dependency)
    "brain-medxgan",
]


def test_required_models_are_bundled_and_small() -> None:
    assert set(REQUIRED) <= set(zoo.names())
    total = sum(c.file_bytes for c in zoo.list_models())
    assert total < 25e6
    for c in zoo.list_models():
        assert (
            c.recipe.startswith(("latentviz train ", "python recipes/")) and c.train_seconds > 0 and c.quality
        )


@pytest.mark.parametrize("name", zoo.names())
def test_each_model_loads_fast_and_works(name: str) -> None:
    t0 = time.perf_counter()
    obj = zoo.load(name, device="cpu")
    assert time.perf_counter() - t0 < 1.0
    if isinstance(obj, Generator):
        x = obj(obj.sample_latents(2, seed=0))
        assert x.shape == (2, 1, 64, 64) and x.abs().max() <= 1.0
        if isinstance(obj, StyleGenerator):  # no output tanh: the card asks for a clamp
            assert obj.latent_space == "w+" and obj.num_ws == 10 and obj.clamp_output
        else:
            assert x.abs().max() <= 1.0
            assert obj.module.latent_layer.in_features == obj.latent_dim
        if obj.has_encoder:
            assert obj.encode(x).shape == (2, obj.latent_dim)
        if name.endswith("medxgan"):
            assert obj.split_sizes == (100, 10)
    else:
        assert isinstance(obj, Classifier)
        assert obj.probabilities(torch.zeros(2, 1, 64, 64)).shape == (2, 2)


def test_unknown_name() -> None:
    with pytest.raises(ModelFileError, match="no zoo model 'cxr-stylegan'"):
        zoo.load("cxr-stylegan")


def test_tampered_zoo_copy_is_refused(tmp_path: Path) -> None:
    src = zoo.path_of("cxr-classifier")
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(src.with_suffix(".json"), tmp_path / "cxr-classifier.json")
    data = bytearray((tmp_path / src.name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / src.name).write_bytes(bytes(data))
    with pytest.raises(ChecksumError):
        load_model(tmp_path / "cxr-classifier")


@pytest.mark.parametrize("kind", ["cxr", "ct", "brain"])
def test_classifier_gate_on_fresh_phantoms(kind: str) -> None:
    q = quality.classifier_quality(zoo.load(f"{kind}-classifier", device="cpu"), kind, n=300, seed=123_457)
    assert q["auc"] >= 0.95 and q["accuracy"] >= 0.9


@pytest.mark.parametrize("kind", ["cxr", "ct", "brain"])
def test_medxgan_disentanglement_gate(kind: str) -> None:
    g = zoo.load(f"{kind}-medxgan", device="cpu")
    clf = zoo.load(f"{kind}-classifier", device="cpu")
    q = quality.medxgan_quality(g, clf, kind, n_z1=200, seed=77, n_support=300)
    assert q["disentanglement"] >= 0.9
    # Changing z2 changes the image less than changing the anatomy z1 does.
    assert q["anatomy_change_outside_lesions"] < q["change_between_z1"]


def test_vae_reconstructs_better_than_the_mean_image() -> None:
    q = quality.vae_reconstruction(zoo.load("cxr-vae", device="cpu"), "cxr", n=100, seed=5)
    assert q["mse"] < 0.2 * q["mse_mean_image"]
