"""The generator protocol on a wrapped outside module and on a TorchScript file."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from latentviz.errors import LatentError, ModelFileError
from latentviz.models import Generator, GeneratorProtocol, wrap_generator


def _decoder(d: int = 8) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(d, 16 * 16), nn.Tanh(), nn.Unflatten(1, (1, 16, 16)))


def test_wrapped_module_follows_protocol() -> None:
    g = wrap_generator(_decoder(), latent_shape=8, device="cpu")
    assert isinstance(g, GeneratorProtocol)
    z = g.sample_latents(5, seed=3)
    assert z.shape == (5, 8)
    assert torch.equal(z, g.sample_latents(5, seed=3))
    x = g(z)
    assert x.shape == (5, 1, 16, 16)
    assert x.min() >= -1 and x.max() <= 1
    assert g.image_shape == (1, 16, 16)


def test_output_range_is_mapped_to_minus_one_one() -> None:
    dec = nn.Sequential(nn.Linear(4, 16), nn.Sigmoid(), nn.Unflatten(1, (1, 4, 4)))
    g = Generator(dec, (4,), output_range=(0.0, 1.0), device="cpu")
    x = g(torch.randn(64, 4) * 10)
    assert x.min() < -0.9 and x.max() > 0.9


def test_torchscript_file_round_trip(tmp_path) -> None:
    dec = _decoder()
    path = tmp_path / "dec.pt"
    torch.jit.script(dec).save(str(path))
    g = wrap_generator(path, latent_shape=8, device="cpu")
    z = g.sample_latents(3, seed=0)
    torch.testing.assert_close(g(z), dec(z))
    assert g.name == "dec"


def test_bad_torchscript_file_is_refused(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a TorchScript file"):
        wrap_generator(bad, latent_shape=8, device="cpu")


@pytest.mark.parametrize(
    "z, msg",
    [
        (torch.zeros(2, 7), "expects"),
        (torch.full((2, 8), float("nan")), "NaN"),
    ],
)
def test_bad_latents_are_refused(z, msg) -> None:
    g = wrap_generator(_decoder(), latent_shape=8, device="cpu")
    with pytest.raises(LatentError, match=msg):
        g(z)


def test_split_and_join() -> None:
    g = Generator(_decoder(), (8,), split_sizes=(5, 3), device="cpu")
    z = g.sample_latents(4, seed=0)
    z1, z2 = g.split(z)
    assert z1.shape == (4, 5) and z2.shape == (4, 3)
    torch.testing.assert_close(g.join(z1, z2), z)
    assert torch.all(g.join(z1)[:, 5:] == 0)


def test_sha256_changes_with_weights() -> None:
    dec = _decoder()
    g = Generator(dec, (8,), device="cpu")
    h1 = g.sha256
    g2 = Generator(_decoder(), (8,), device="cpu")
    assert g2.sha256 == h1
    with torch.no_grad():
        dec[0].weight.add_(1.0)
    assert Generator(dec, (8,), device="cpu").sha256 != h1
