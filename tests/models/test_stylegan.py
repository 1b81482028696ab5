"""The StyleGAN2-family generator, its latent spaces, layer-range edits and training."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from latentviz.errors import LatentError, ShapeError
from latentviz.models.architectures.stylegan import (
    ModulatedConv2d,
    StyleDiscriminator,
    StyleGAN2Generator,
    SynthesisCache,
    upfirdn2d,
)
from latentviz.models.io import load_wrapped, save_model
from latentviz.models.style import StyleGenerator, layer_range, lift_direction
from latentviz.models.training import TrainConfig, fit


def _tiny(encoder: str | None = None, size: int = 16, seed: int = 0) -> StyleGAN2Generator:
    torch.manual_seed(seed)
    g = StyleGAN2Generator(size, z_dim=8, w_dim=8, n_mlp=2, channel_base=64, channel_max=8, encoder=encoder)
    with torch.no_grad():  # non-zero noise strengths and biases, so every part is exercised
        for name, p in g.named_parameters():
            if name.endswith("noise.weight") or name.endswith("activate.bias") or name.endswith("rgb1.bias"):
                p.normal_(0, 0.3)
    return g.eval()


def test_structure_follows_stylegan2() -> None:
    g = _tiny(size=64)
    assert g.num_ws == 2 * 6 - 2 == 10
    assert g.layer_resolutions() == [4, 8, 8, 16, 16, 32, 32, 64, 64, 64]
    assert len(g.style_layers()) == 1 + 1 + 3 * 4  # conv1, toRGB1, then (conv, conv, toRGB) per resolution
    assert g(torch.randn(3, 8)).shape == (3, 1, 64, 64)
    assert StyleGAN2Generator(32, 8, 8, channel_base=64, channel_max=8, image_channels=3)(
        torch.randn(1, 8)
    ).shape == (
        1,
        3,
        32,
        32,
    )
    with pytest.raises(ShapeError, match="power of two"):
        StyleGAN2Generator(48)


def test_upfirdn2d_matches_a_depthwise_convolution() -> None:
    x = torch.randn(2, 3, 9, 9)
    k = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1]))
    k = k / k.sum() * 4
    ref = F.conv2d(F.pad(x, [2, 1, 2, 1]), k[None, None].expand(3, 1, 4, 4), groups=3)
    torch.testing.assert_close(upfirdn2d(x, k, pad=(2, 1)), ref)
    # Zero insertion then filtering: every output pixel of a ×2 upsample of a constant is the constant.
    up = upfirdn2d(torch.ones(1, 1, 4, 4), k, up=2, pad=(2, 1))
    assert up.shape == (1, 1, 8, 8)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.ones(1, 1, 4, 4))


@pytest.mark.parametrize("upsample", [False, True])
def test_modulated_conv_equals_per_sample_weights(upsample: bool) -> None:
    torch.manual_seed(1)
    conv = ModulatedConv2d(4, 5, 3, w_dim=6, upsample=upsample)
    x, w = torch.randn(3, 4, 8, 8), torch.randn(3, 6)
    s = conv.style(w)
    out = conv(x, s)
    for i in range(3):  # the paper's form: scale the weights per sample, then demodulate
        wi = conv.weight[0] * conv.scale * s[i][None, :, None, None]
        wi = wi * (wi.square().sum((1, 2, 3), keepdim=True) + 1e-8).rsqrt()
        if upsample:
            ref = conv.blur(F.conv_transpose2d(x[i : i + 1], wi.transpose(0, 1), stride=2))
        else:
            ref = F.conv2d(x[i : i + 1], wi, padding=1)
        torch.testing.assert_close(out[i : i + 1], ref, atol=1e-5, rtol=1e-4)
    assert out.shape[-1] == (16 if upsample else 8)


@torch.no_grad()
def test_demodulation_keeps_unit_variance_whatever_the_style() -> None:
    torch.manual_seed(2)
    conv = ModulatedConv2d(32, 16, 3, w_dim=8)
    x = torch.randn(4, 32, 32, 32)
    for scale in (0.1, 1.0, 30.0):
        s = conv.style(torch.randn(4, 8)) * scale
        std = conv(x, s)[..., 2:-2, 2:-2].std(dim=(2, 3))
        assert 0.7 < float(std.mean()) < 1.3, scale
    # Without demodulation the output scales with the style.
    plain = ModulatedConv2d(32, 16, 3, w_dim=8, demodulate=False)
    s = plain.style(torch.randn(4, 8))
    assert float(plain(x, 10 * s).std() / plain(x, s).std()) == pytest.approx(10, rel=1e-3)


def test_w_plus_broadcast_stylespace_and_truncation() -> None:
    g = _tiny()
    with torch.no_grad():
        w = g.mapping(torch.randn(2, 8))
        a = g.synthesis(w)
        torch.testing.assert_close(g.synthesis(w[:, None].repeat(1, g.num_ws, 1)), a)
        torch.testing.assert_close(g.synthesis_styles(g.styles(w)), a)
        assert [s.shape[1] for s in g.styles(w)] == g.style_dims()
        g.w_avg.normal_()
        torch.testing.assert_close(g.mapping(torch.randn(3, 8), truncation=0.0), g.w_avg.expand(3, -1))
    with pytest.raises(ShapeError, match="W\\+ latents"):
        g.broadcast(torch.zeros(2, 3, 8))


def test_the_cache_reuses_early_stages_and_gives_the_same_image() -> None:
    g = _tiny(size=32)  # 4 stages (4, 8, 16, 32 px), 8 styles
    cache = SynthesisCache()
    with torch.no_grad():
        ws = g.broadcast(g.mapping(torch.randn(1, 8))).clone()
        g.synthesis(ws, cache=cache)
        assert (cache.hits, cache.misses) == (0, 4)
        for layer, stage in [(7, 3), (6, 3), (5, 2), (2, 1), (1, 0), (0, 0)]:
            edited = ws.clone()
            edited[:, layer] += 0.5
            before = cache.hits
            out = g.synthesis(edited, cache=cache)
            assert cache.hits - before == stage, layer
            torch.testing.assert_close(out, g.synthesis(edited), atol=1e-5, rtol=1e-5)
            g.synthesis(ws, cache=cache)
        before = cache.hits
        g.synthesis(ws, cache=cache)  # nothing changed: every stage comes from the cache
        assert cache.hits - before == 4


def test_style_generator_spaces_share_weights_and_agree() -> None:
    gz = StyleGenerator(_tiny(), "z", device="cpu")
    gw, gp = gz.in_space("w"), gz.in_space("w+")
    assert (gz.latent_shape, gw.latent_shape, gp.latent_shape) == ((8,), (8,), (6 * 8,))
    assert gw.module is gz.module and gw.sha256 == gz.sha256
    z = gz.sample_latents(3, seed=0)
    w, wp = gw.sample_latents(3, seed=0), gp.sample_latents(3, seed=0)
    torch.testing.assert_close(gz(z), gw(w))
    torch.testing.assert_close(gw(w), gp(wp))
    torch.testing.assert_close(gp(wp.view(3, 6, 8)), gp(wp))  # (N, num_ws, w_dim) is accepted
    with pytest.raises(LatentError, match="expects"):
        gp(torch.zeros(1, 5, 8))
    with pytest.raises(LatentError, match="latent space"):
        StyleGenerator(_tiny(), "q")
    # Differentiable in every space (no cache under autograd).
    wq = w.clone().requires_grad_(True)
    gw(wq).sum().backward()
    assert wq.grad is not None and torch.isfinite(wq.grad).all()


def test_layer_range_edits_touch_only_their_layers() -> None:
    gp = StyleGenerator(_tiny(size=32), "w+", device="cpu")
    assert layer_range("coarse", 8) == (0, 1, 2) and layer_range("fine", 8) == (6, 7)
    assert layer_range("2:4", 8) == (2, 3) and layer_range([5, 1], 8) == (1, 5)
    with pytest.raises(LatentError):
        layer_range("tiny", 8)
    with pytest.raises(LatentError):
        layer_range([8], 8)
    base = gp.sample_latents(2, seed=1)
    d = torch.randn(8)
    edited = gp.edit(base, d, torch.tensor([1.0, -2.0]), layers="fine").view(2, 8, 8)
    moved = (edited - base.view(2, 8, 8)).abs().sum(2) > 0
    assert moved[:, 6:].all() and not moved[:, :6].any()
    torch.testing.assert_close(edited[1, 7] - base.view(2, 8, 8)[1, 7], -2.0 * d)
    lifted = lift_direction(d, 8, [6, 7])
    assert lifted.shape == (64,) and float(lifted.norm()) == pytest.approx(1.0)
    assert (lifted.view(8, 8)[:6] == 0).all()
    # A fine-layer slider frame reuses all but the last stage.
    with torch.no_grad():
        gp(base[:1])
        hits = gp.cache.hits
        gp(gp.edit(base[:1], d, 0.3, layers=[7]))
        assert gp.cache.hits - hits == 3


def test_round_trip_through_the_weights_file_with_encoder(tmp_path: Path) -> None:
    module = _tiny(encoder="w+")
    kwargs = {
        "image_size": 16,
        "z_dim": 8,
        "w_dim": 8,
        "n_mlp": 2,
        "channel_base": 64,
        "channel_max": 8,
        "encoder": "w+",
    }
    save_model(module, {"architecture": "style-gaan", "kwargs": kwargs, "latent_space": "w+"}, tmp_path / "m")
    g = load_wrapped(tmp_path / "m", device="cpu")
    assert isinstance(g, StyleGenerator) and g.latent_space == "w+" and g.has_encoder
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    code = g.encode(x)
    assert code.shape == (2, 8 * 6)
    assert g.in_space("w").encode(x).shape == (2, 8) and not g.in_space("z").has_encoder
    torch.testing.assert_close(g(code), module.synthesis(module.encode(x)))
    with pytest.raises(ShapeError, match="encoder expects"):
        g.encode(torch.zeros(1, 1, 8, 8))


def test_discriminator_scores_each_image() -> None:
    d = StyleDiscriminator(16, channel_base=64, channel_max=8)
    assert d(torch.randn(6, 1, 16, 16)).shape == (6,)
    assert d(torch.randn(1, 1, 16, 16)).shape == (1,)


def _rows(out: Path) -> list[dict]:
    with open(out / "losses.csv") as f:
        return list(csv.DictReader(f))


def _tiny_cfg(
    kind: str, data: Path, out: Path, steps: int = 1, width: int = 8, every: int = 10, **kw
) -> TrainConfig:
    """A style-training config of a few 16 px steps (``every``: sample and checkpoint period)."""
    return TrainConfig(
        kind=kind,
        data=str(data),
        out=out,
        size=16,
        steps=steps,
        batch_size=4,
        width=width,
        latent_dim=8,
        progress=False,
        sample_every=every,
        checkpoint_every=every,
        early_step=0,
        **kw,
    )


@pytest.mark.parametrize("kind", ["stylegan", "gaan"])
def test_style_training_runs_and_resumes(kind: str, tiny_data: Path, tmp_path: Path) -> None:
    def cfg(out: Path, steps: int, **kw) -> TrainConfig:
        return _tiny_cfg(kind, tiny_data, out, steps=steps, every=2, **kw)

    fit(cfg(tmp_path / "full", 4))
    fit(cfg(tmp_path / "part", 2))
    result = fit(cfg(tmp_path / "part", 4, resume=True))
    part, full = _rows(tmp_path / "part"), _rows(tmp_path / "full")
    assert [int(r["step"]) for r in part] == [1, 2, 3, 4]
    for p, f in zip(part, full):
        for k in p:
            assert float(p[k]) == pytest.approx(float(f[k]), rel=1e-4, abs=1e-6), k
    assert all(np.isfinite(float(v)) for r in part for v in r.values())
    g = load_wrapped(result["model"], device="cpu")
    assert isinstance(g, StyleGenerator) and g.has_encoder == (kind == "gaan")
    assert g.config["ema"] and "objective" in g.config


def _init_cfg(kind: str, data: Path, out: Path, width: int = 8, **extra) -> TrainConfig:
    return _tiny_cfg(kind, data, out, width=width, extra=extra)


def test_a_gaan_run_starts_from_a_saved_generator(tiny_data: Path, tmp_path: Path) -> None:
    from latentviz.models.training.common import load_training_data
    from latentviz.models.training.stylegan import GAANTrainer

    source = fit(_init_cfg("gaan", tiny_data, tmp_path / "src", encoder_space="w+"))["model"]
    src = load_wrapped(source, device="cpu").module

    data = load_training_data(str(tiny_data), 16, 16, 0, 1, None)
    started = GAANTrainer(
        _init_cfg("gaan", tiny_data, tmp_path / "a", init_from=str(source), encoder_space="w+"), data, "cpu"
    )
    fresh = GAANTrainer(_init_cfg("gaan", tiny_data, tmp_path / "b", encoder_space="w+"), data, "cpu")
    want = src.state_dict()
    for name, t in started.G.state_dict().items():  # generator, w_avg and encoder all carried over
        assert torch.equal(t, want[name]), name
    for name, t in started.G_ema.state_dict().items():
        assert torch.equal(t, want[name]), name
    assert not all(torch.equal(t, want[n]) for n, t in fresh.G.state_dict().items())
    # A plain StyleGAN2 generator starts a gaan run: the encoder starts fresh, the rest carries.
    plain = fit(_init_cfg("stylegan", tiny_data, tmp_path / "plain"))["model"]
    g = GAANTrainer(
        _init_cfg("gaan", tiny_data, tmp_path / "c", init_from=str(plain), encoder_space="w+"), data, "cpu"
    )
    plain_state = load_wrapped(plain, device="cpu").module.state_dict()
    assert all(
        torch.equal(t, plain_state[n]) for n, t in g.G.state_dict().items() if not n.startswith("encoder.")
    )


def test_init_from_refuses_another_architecture(tiny_data: Path, tmp_path: Path) -> None:
    from latentviz.errors import ModelFileError

    source = fit(_init_cfg("stylegan", tiny_data, tmp_path / "src"))["model"]
    with pytest.raises(ModelFileError, match=r"architecture.*channel_max: 8 there, 16 here"):
        fit(_init_cfg("stylegan", tiny_data, tmp_path / "wide", width=16, init_from=str(source)))
    with pytest.raises(ModelFileError, match="not a style generator"):
        fit(_init_cfg("stylegan", tiny_data, tmp_path / "zoo", init_from="ct-dcgan"))
