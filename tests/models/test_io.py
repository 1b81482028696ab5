"""safetensors + JSON sidecar: round trip, float16 storage, and every refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from latentviz.errors import ChecksumError, ModelFileError
from latentviz.models import Classifier, Generator
from latentviz.models.architectures import DCGANGenerator, PhantomCNN
from latentviz.models.io import load_config, load_model, load_wrapped, save_model, update_config


def _save_gan(tmp_path: Path, latent: int = 8, **kw) -> Path:
    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=latent, image_size=64, width=8).eval()
    cfg = {"architecture": "dcgan", "kwargs": {"latent_dim": latent, "image_size": 64, "width": 8}}
    return save_model(g, cfg, tmp_path / "gan", **kw), g


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path, g = _save_gan(tmp_path)
    assert path.name == "gan.safetensors" and path.with_suffix(".json").is_file()
    module, cfg = load_model(tmp_path / "gan")
    z = torch.randn(3, 8)
    torch.testing.assert_close(module(z), g(z), rtol=0, atol=0)
    assert cfg["weights_dtype"] == "float32" and len(cfg["sha256"]) == 64
    # Never pickle: the file is safetensors (8-byte header length, then JSON).
    assert path.read_bytes()[8:9] == b"{"


def test_float16_storage_loads_as_float32(tmp_path: Path) -> None:
    path, g = _save_gan(tmp_path, dtype=torch.float16)
    module, cfg = load_model(path)
    assert cfg["weights_dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in module.parameters())
    z = torch.randn(4, 8)
    assert (module(z) - g(z)).abs().max() < 2e-2


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    path, _ = _save_gan(tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(path, copy / path.name)
    shutil.copy(path.with_suffix(".json"), copy / "gan.json")
    data = bytearray((copy / path.name).read_bytes())
    data[-5] ^= 0xFF
    (copy / path.name).write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256"):
        load_model(copy / "gan")


def test_wrong_architecture_and_latent_size_refused(tmp_path: Path) -> None:
    path, _ = _save_gan(tmp_path)
    with pytest.raises(ModelFileError, match="'dcgan' model, but a 'vae'"):
        load_model(path, architecture="vae")
    with pytest.raises(ModelFileError, match="latent size is 8, but 16"):
        load_model(path, latent_dim=16)
    # A sidecar that lies about the latent size: shapes do not fit.
    update_config(path, kwargs={"latent_dim": 16, "image_size": 64, "width": 8})
    with pytest.raises(ModelFileError, match="latent size: config says 16, weights have 8"):
        load_model(path)


def test_missing_keys_and_missing_files(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from latentviz.models.io import file_sha256

    path, _ = _save_gan(tmp_path)
    state = load_file(str(path))
    state.pop("body.0.weight")
    save_file(state, str(path))
    update_config(path, sha256=file_sha256(path))
    with pytest.raises(ModelFileError, match=r"missing keys \['body.0.weight'\]"):
        load_model(path)
    with pytest.raises(ModelFileError, match="no such weights file"):
        load_model(tmp_path / "nothing")
    (tmp_path / "lonely.safetensors").write_bytes(path.read_bytes())
    with pytest.raises(ModelFileError, match="no config sidecar"):
        load_model(tmp_path / "lonely")
    (tmp_path / "bad.safetensors").write_bytes(b"x")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_config(tmp_path / "bad")


def test_save_refuses_unregistered_architecture(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="registered"):
        save_model(torch.nn.Linear(2, 2), {"architecture": "mlp", "kwargs": {}}, tmp_path / "m")


def test_wrapped_roles(tmp_path: Path) -> None:
    _save_gan(tmp_path)
    g = load_wrapped(tmp_path / "gan", device="cpu")
    assert isinstance(g, Generator) and g.latent_shape == (8,) and g.image_shape == (1, 64, 64)
    cnn = PhantomCNN(width=4)
    save_model(
        cnn,
        {"architecture": "cnn-classifier", "kwargs": {"width": 4}, "activation": "softmax"},
        tmp_path / "c",
    )
    c = load_wrapped(tmp_path / "c", device="cpu")
    assert isinstance(c, Classifier) and c.activation == "softmax"
    assert c.gradcam_layer is c.module.block4
    assert json.loads((tmp_path / "c.json").read_text())["architecture"] == "cnn-classifier"
