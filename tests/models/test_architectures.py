"""Shapes, ranges and the latent_layer contract of the latentviz architectures."""

from __future__ import annotations

import pytest
import torch

from latentviz.errors import DependencyMissingError, ModelFileError, ShapeError
from latentviz.models.architectures import (
    ConvVAE,
    DCGANDiscriminator,
    DCGANGenerator,
    MedXGANGenerator,
    PhantomCNN,
    ResNetClassifier,
    build,
)


@pytest.mark.parametrize("size", [64, 128])
def test_dcgan_shapes_and_range(size: int) -> None:
    g = DCGANGenerator(latent_dim=32, image_size=size, width=8).eval()
    x = g(torch.randn(3, 32) * 5)
    assert x.shape == (3, 1, size, size)
    assert x.abs().max() <= 1.0
    assert g.latent_layer.weight.shape == (8 * 2 ** (g_stages(size) - 1) * 16, 32)
    assert DCGANDiscriminator(image_size=size, width=8)(x).shape == (3,)


def g_stages(size: int) -> int:
    return {64: 4, 128: 5}[size]


def test_generator_rejects_wrong_latent_and_size() -> None:
    with pytest.raises(ShapeError, match=r"\(N, 32\)"):
        DCGANGenerator(32, 64, width=8)(torch.randn(2, 31))
    with pytest.raises(ShapeError, match="power of two"):
        DCGANGenerator(32, 60)


def test_vae_encode_decode() -> None:
    v = ConvVAE(latent_dim=8, image_size=64, width=8).eval()
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    mu, logvar = v.encode_stats(x)
    assert mu.shape == logvar.shape == (2, 8)
    torch.testing.assert_close(v.encode(x), mu)
    assert v(mu).shape == (2, 1, 64, 64)
    loss, logs = v.loss(x)
    assert loss.ndim == 0 and logs["kl"] >= 0 and logs["recon"] > 0
    with pytest.raises(ShapeError):
        v.encode(torch.zeros(1, 1, 32, 32))


def test_medxgan_split_and_zero_code() -> None:
    m = MedXGANGenerator(anatomy_dim=6, pathology_dim=2, image_size=64, width=8).eval()
    z1 = torch.randn(4, 6)
    torch.testing.assert_close(m.forward_split(z1), m(torch.cat([z1, torch.zeros(4, 2)], 1)))
    assert m.split_sizes == (6, 2) and m.latent_layer.in_features == 8


def test_cnn_gradcam_layer_and_features() -> None:
    c = PhantomCNN(width=4).eval()
    x = torch.randn(2, 1, 64, 64)
    assert c(x).shape == (2, 2) and c.features(x).shape == (2, 16)
    assert c.gradcam_layer is c.block4
    # The Grad-CAM alias is not a second copy in the state dict.
    assert not any(k.startswith("gradcam_layer") for k in c.state_dict())


def test_resnet_needs_torchvision() -> None:
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(DependencyMissingError, match="torchvision"):
            ResNetClassifier()
    else:  # pragma: no cover - torchvision present
        assert ResNetClassifier()(torch.zeros(1, 1, 64, 64)).shape == (1, 2)


def test_build_unknown_and_bad_kwargs() -> None:
    with pytest.raises(ModelFileError, match="unknown architecture"):
        build("stylegan9")
    with pytest.raises(ModelFileError, match="does not take"):
        build("dcgan", depth=3)
