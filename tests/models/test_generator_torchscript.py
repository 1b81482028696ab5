"""TorchScript generators: SeFa finds (or is told) the latent layer in a scripted module
(issue 16, item 2), and a wrong ``latent_shape`` is caught on wrap with one test forward
(item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from latentviz.directions import find_latent_layer, sefa
from latentviz.errors import ArgumentError, ShapeError
from latentviz.models import Generator, wrap_generator


def _decoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(16, 8 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (8, 4, 4)),
        nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh(),
    )  # fmt: skip


class _RawWeight(nn.Module):
    """Consumes z through a bare parameter: no Linear layer to find."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(64, 16))
        self.up = nn.ConvTranspose2d(4, 1, 4, 2, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.up((z @ self.w.t()).view(-1, 4, 4, 4)))


def _script(module: nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_sefa_runs_on_a_torchscript_file_and_matches_the_module(tmp_path: Path) -> None:
    dec = _decoder()
    path = _script(dec, tmp_path / "dec.pt")
    g = wrap_generator(path, latent_shape=16, device="cpu")
    ds = sefa(g, k=3)  # failed: "no latent_layer and no Linear/ConvTranspose2d layer taking 16 inputs"
    ref = sefa(Generator(dec, 16, device="cpu"), k=3)
    np.testing.assert_allclose(ds.directions, ref.directions, atol=1e-6)
    assert ds.params["layer"] == "Linear"
    assert g.image_shape == (1, 8, 8)


def test_a_dcgan_style_scripted_generator_is_found_by_its_conv_transpose(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dcgan = nn.Sequential(nn.ConvTranspose2d(12, 4, 4, 1, 0), nn.ReLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1))
    g = wrap_generator(_script(dcgan, tmp_path / "dcgan.pt"), latent_shape=(12, 1, 1), device="cpu")
    assert find_latent_layer(g).original_name == "ConvTranspose2d"
    assert len(sefa(g, k=4).names) == 4


def test_the_user_names_the_latent_layer(tmp_path: Path) -> None:
    torch.manual_seed(0)
    raw = _RawWeight()
    path = _script(raw, tmp_path / "raw.pt")
    with pytest.raises(ShapeError, match="latent_layer="):
        sefa(wrap_generator(path, latent_shape=16, device="cpu"), k=2)
    g = wrap_generator(path, latent_shape=16, device="cpu", latent_layer="w")
    ref = sefa(Generator(raw, 16, device="cpu", latent_layer="w"), k=2)
    np.testing.assert_allclose(sefa(g, k=2).directions, ref.directions, atol=1e-6)
    # A layer's parameter name or its module name both work.
    path2 = _script(_decoder(), tmp_path / "dec.pt")
    for name in ("0", "0.weight"):
        assert sefa(wrap_generator(path2, latent_shape=16, device="cpu", latent_layer=name), k=2)
    with pytest.raises(ArgumentError, match=r"weights it has: w, up\.weight"):
        wrap_generator(path, latent_shape=16, device="cpu", latent_layer="nope")


def test_wrong_latent_shape_is_caught_on_wrap_and_says_what_works(tmp_path: Path) -> None:
    path = _script(_decoder(), tmp_path / "dec.pt")
    accepts = r"shape \(N, 8\).*accepts latents of shape \(N, 16\): pass latent_shape=16"
    with pytest.raises(ShapeError, match=accepts):
        wrap_generator(path, latent_shape=8, device="cpu")
    with pytest.raises(ShapeError, match=r"\(N, 16, 1, 1\).*pass latent_shape=16"):
        wrap_generator(path, latent_shape=(16, 1, 1), device="cpu")
    dcgan = nn.Sequential(nn.ConvTranspose2d(12, 1, 4, 1, 0))
    with pytest.raises(ShapeError, match=r"pass latent_shape=\(12, 1, 1\)"):
        wrap_generator(_script(dcgan, tmp_path / "dcgan.pt"), latent_shape=12, device="cpu")


def test_a_module_that_returns_no_images_is_refused(tmp_path: Path) -> None:
    path = _script(nn.Sequential(nn.Linear(16, 4)), tmp_path / "flat.pt")
    with pytest.raises(ShapeError, match=r"maps latents \(N, 16\) to \(1, 4\)"):
        wrap_generator(path, latent_shape=16, device="cpu")
