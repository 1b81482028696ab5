"""The DCGAN-family generators and the VAE keep conv weights channels-last (issue 17, item 5)."""

from __future__ import annotations

import torch

from latentviz.models.architectures import ConvVAE, DCGANGenerator, MedXGANGenerator, build


def _conv_weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in module.parameters() if p.ndim == 4]


def test_weights_are_channels_last_and_images_leave_nchw() -> None:
    torch.manual_seed(0)
    for g in (
        DCGANGenerator(latent_dim=8, image_size=16, width=8),
        MedXGANGenerator(anatomy_dim=6, pathology_dim=2, image_size=16, width=8),
        ConvVAE(latent_dim=8, image_size=16, width=8),
    ):
        ws = _conv_weights(g)
        assert ws and all(w.is_contiguous(memory_format=torch.channels_last) for w in ws)
        x = g.eval()(torch.randn(3, 8))
        assert x.is_contiguous() and x.view(3, -1).shape == (3, 16 * 16)


def test_loaded_weights_give_the_same_images_as_the_nchw_layout() -> None:
    torch.manual_seed(0)
    g = ConvVAE(latent_dim=8, image_size=16, width=8).eval()
    nchw = ConvVAE(latent_dim=8, image_size=16, width=8).eval().to(memory_format=torch.contiguous_format)
    nchw.load_state_dict(g.state_dict())
    fresh = ConvVAE(latent_dim=8, image_size=16, width=8).eval()
    fresh.load_state_dict({k: v.contiguous() for k, v in g.state_dict().items()})
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(fresh))
    z = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(g(z), nchw(z), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fresh(z), g(z))
        x = torch.rand(4, 1, 16, 16) * 2 - 1
        torch.testing.assert_close(g.encode(x), nchw.encode(x), atol=1e-5, rtol=1e-5)


def test_the_phantom_cnn_is_channels_last_and_gives_the_same_logits() -> None:
    torch.manual_seed(0)
    net = build("cnn-classifier", num_classes=3, width=8).eval()
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(net))
    nchw = build("cnn-classifier", num_classes=3, width=8).eval().to(memory_format=torch.contiguous_format)
    nchw.load_state_dict(net.state_dict())
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(net(x), nchw(x), atol=1e-5, rtol=1e-5)
