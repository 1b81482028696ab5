"""Importing StyleGAN2 checkpoints: rosinality ``.pt`` and NVIDIA ``.pkl`` layouts.

Both layouts are built here from the original code's conventions (key names, pickling
through ``torch_utils.persistence``), and each import is compared with an independent
reference forward written from that code's arithmetic, not with our own module.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import pathlib
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from latentviz.cli import main
from latentviz.errors import ModelFileError
from latentviz.models.io import load_wrapped
from latentviz.models.style import StyleGenerator
from latentviz.models.stylegan_import import (
    PersistentRecord,
    import_checkpoint,
    import_nvidia_pickle,
    import_rosinality,
    load_nvidia_pickle,
)

SQRT2 = math.sqrt(2.0)
ATOL = 1e-4


def _kernel(gain: float = 1.0) -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return k / k.sum() * gain


def _fir_ref(x: torch.Tensor, k: torch.Tensor, up: int, pad0: int, pad1: int) -> torch.Tensor:
    """Zero insertion, padding, then a true (flipped-kernel) depthwise convolution."""
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    return F.conv2d(x, k.flip([0, 1])[None, None].repeat(c, 1, 1, 1), groups=c)


# =======================================================================================
# rosinality/stylegan2-pytorch layout
# =======================================================================================
def _rosinality_state(size: int, dim: int, n_mlp: int, ch: dict[int, int], rgb: int, seed: int = 0) -> dict:
    """A ``g_ema`` state dict with exactly the keys and shapes of rosinality's Generator."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale + shift

    sd: dict[str, torch.Tensor] = {}
    for i in range(1, n_mlp + 1):  # style.0 is PixelNorm (no state)
        sd[f"style.{i}.weight"] = r(dim, dim, scale=1 / 0.01)  # randn / lr_mul
        sd[f"style.{i}.bias"] = r(dim, scale=5.0)

    def modconv(prefix: str, cin: int, cout: int, k: int, up: bool = False) -> None:
        sd[f"{prefix}.weight"] = r(1, cout, cin, k, k)
        sd[f"{prefix}.modulation.weight"] = r(cin, dim)
        sd[f"{prefix}.modulation.bias"] = r(cin, scale=0.2, shift=1.0)
        if up:
            sd[f"{prefix}.blur.kernel"] = _kernel(4.0)

    def styled(prefix: str, cin: int, cout: int, up: bool = False) -> None:
        modconv(f"{prefix}.conv", cin, cout, 3, up)
        sd[f"{prefix}.noise.weight"] = r(1, scale=0.3)
        sd[f"{prefix}.activate.bias"] = r(cout, scale=0.3)

    def to_rgb(prefix: str, cin: int, up: bool) -> None:
        modconv(f"{prefix}.conv", cin, rgb, 1)
        sd[f"{prefix}.bias"] = r(1, rgb, 1, 1, scale=0.3)
        if up:
            sd[f"{prefix}.upsample.kernel"] = _kernel(4.0)

    sd["input.input"] = r(1, ch[4], 4, 4)
    styled("conv1", ch[4], ch[4])
    to_rgb("to_rgb1", ch[4], False)
    log = int(math.log2(size))
    for layer in range((log - 2) * 2 + 1):
        res = 2 ** ((layer + 5) // 2)
        sd[f"noises.noise_{layer}"] = r(1, 1, res, res)
    cin = ch[4]
    for i in range(3, log + 1):
        cout = ch[2**i]
        b = i - 3
        styled(f"convs.{2 * b}", cin, cout, up=True)
        styled(f"convs.{2 * b + 1}", cout, cout)
        to_rgb(f"to_rgbs.{b}", cout, True)
        cin = cout
    return sd


def _ros_linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lr: float, act: bool) -> torch.Tensor:
    out = F.linear(x, w * (lr / math.sqrt(w.shape[1])))
    return F.leaky_relu(out + b * lr, 0.2) * SQRT2 if act else out + b * lr


def _ros_mapping(sd: dict, z: torch.Tensor, n_mlp: int, lr_mlp: float = 0.01) -> torch.Tensor:
    x = z * torch.rsqrt(torch.mean(z**2, dim=1, keepdim=True) + 1e-8)
    for i in range(1, n_mlp + 1):
        x = _ros_linear(x, sd[f"style.{i}.weight"], sd[f"style.{i}.bias"], lr_mlp, True)
    return x


def _ros_modconv(
    sd: dict, p: str, x: torch.Tensor, latent: torch.Tensor, demod: bool, up: bool
) -> torch.Tensor:
    """rosinality's fused ModulatedConv2d: per-sample weights, grouped (transposed) conv."""
    batch, cin, h, w = x.shape
    weight0 = sd[f"{p}.weight"]
    _, cout, _, k, _ = weight0.shape
    style = _ros_linear(latent, sd[f"{p}.modulation.weight"], sd[f"{p}.modulation.bias"], 1.0, False)
    weight = (1 / math.sqrt(cin * k * k)) * weight0 * style.view(batch, 1, cin, 1, 1)
    if demod:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(batch, cout, 1, 1, 1)
    if up:
        weight = weight.transpose(1, 2).reshape(batch * cin, cout, k, k)
        out = F.conv_transpose2d(x.view(1, batch * cin, h, w), weight, padding=0, stride=2, groups=batch)
        out = out.view(batch, cout, *out.shape[2:])
        return _fir_ref(out, sd[f"{p}.blur.kernel"], 1, 1, 1)  # Blur pad (1, 1)
    weight = weight.view(batch * cout, cin, k, k)
    out = F.conv2d(x.view(1, batch * cin, h, w), weight, padding=k // 2, groups=batch)
    return out.view(batch, cout, h, w)


def _ros_styled(sd: dict, p: str, x: torch.Tensor, latent: torch.Tensor, noise: torch.Tensor, up: bool):
    out = _ros_modconv(sd, f"{p}.conv", x, latent, True, up)
    out = out + sd[f"{p}.noise.weight"] * noise
    return F.leaky_relu(out + sd[f"{p}.activate.bias"].view(1, -1, 1, 1), 0.2) * SQRT2


def _ros_to_rgb(sd: dict, p: str, x: torch.Tensor, latent: torch.Tensor, skip: torch.Tensor | None):
    out = _ros_modconv(sd, f"{p}.conv", x, latent, False, False) + sd[f"{p}.bias"]
    if skip is not None:
        out = out + _fir_ref(skip, sd[f"{p}.upsample.kernel"], 2, 2, 1)  # Upsample pad (2, 1)
    return out


def _ros_synthesis(sd: dict, w: torch.Tensor, n_rgbs: int) -> torch.Tensor:
    """rosinality's Generator.forward(input_is_latent=True, randomize_noise=False) for one w."""
    n_latent = 2 * (n_rgbs + 2) - 2
    latent = w.unsqueeze(1).repeat(1, n_latent, 1)
    noise = [sd[f"noises.noise_{i}"] for i in range(2 * n_rgbs + 1)]
    out = sd["input.input"].repeat(w.shape[0], 1, 1, 1)
    out = _ros_styled(sd, "conv1", out, latent[:, 0], noise[0], False)
    skip = _ros_to_rgb(sd, "to_rgb1", out, latent[:, 1], None)
    i = 1
    for b in range(n_rgbs):
        out = _ros_styled(sd, f"convs.{2 * b}", out, latent[:, i], noise[2 * b + 1], True)
        out = _ros_styled(sd, f"convs.{2 * b + 1}", out, latent[:, i + 1], noise[2 * b + 2], False)
        skip = _ros_to_rgb(sd, f"to_rgbs.{b}", out, latent[:, i + 2], skip)
        i += 2
    return skip


ROS = {"size": 32, "dim": 8, "n_mlp": 3, "ch": {4: 8, 8: 8, 16: 6, 32: 4}, "rgb": 3}


def _save_rosinality(path: Path, with_avg: bool = True, **extra: object) -> dict:
    sd = _rosinality_state(**ROS)
    ckpt: dict = {
        "g_ema": sd,
        "g": {k: v + 1 for k, v in sd.items()},  # a non-EMA copy that must not be used
        "args": argparse.Namespace(size=32, latent=8, n_mlp=3, channel_multiplier=2, arch="stylegan2"),
        "ada_aug_p": 0.1,
        **extra,
    }
    if with_avg:
        ckpt["latent_avg"] = torch.randn(8, generator=torch.Generator().manual_seed(5))
    torch.save(ckpt, path)
    return ckpt


def test_rosinality_checkpoint_imports_and_matches_the_reference_forward(tmp_path: Path) -> None:
    ckpt = _save_rosinality(tmp_path / "ros.pt")
    sd = ckpt["g_ema"]
    module, cfg = import_rosinality(tmp_path / "ros.pt")
    kw = cfg["kwargs"]
    assert (kw["image_size"], kw["z_dim"], kw["w_dim"], kw["n_mlp"], kw["image_channels"]) == (32, 8, 8, 3, 3)
    assert kw["channels"] == ROS["ch"] and kw["lr_mlp"] == 0.01
    assert cfg["w_avg_source"] == "latent_avg" and cfg["latent_space"] == "w"
    torch.testing.assert_close(module.w_avg, ckpt["latent_avg"])
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        w = _ros_mapping(sd, z, 3)
        ref = _ros_synthesis(sd, w, 3)
        torch.testing.assert_close(module.mapping(z), w, atol=ATOL, rtol=1e-4)
        torch.testing.assert_close(module.synthesis(w), ref, atol=ATOL, rtol=0)
        torch.testing.assert_close(module(z), ref, atol=ATOL, rtol=0)
        err = float((module.synthesis(w) - ref).abs().max())
    assert ref.shape == (4, 3, 32, 32) and float(ref.abs().max()) > 0.1
    assert err < ATOL, err


def test_rosinality_without_latent_avg_estimates_w_avg_and_says_so(tmp_path: Path) -> None:
    ckpt = _save_rosinality(tmp_path / "ros.pth", with_avg=False)
    module, cfg = import_rosinality(tmp_path / "ros.pth")
    assert cfg["w_avg_source"].startswith("estimated") and "10000" in cfg["w_avg_source"]
    z = torch.randn(10_000, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = _ros_mapping(ckpt["g_ema"], z, 3).mean(0)
    torch.testing.assert_close(module.w_avg, expected, atol=1e-3, rtol=1e-4)


# =======================================================================================
# NVIDIA stylegan2-ada-pytorch layout: fake persistent classes, pickled as the original
# =======================================================================================
_PAYLOAD: dict[str, str] = {"src": ""}


def _setup_filter() -> torch.Tensor:
    return _kernel(1.0)


def _upfirdn_nv(x: torch.Tensor, f: torch.Tensor, up: int, pad: list[int], gain: float) -> torch.Tensor:
    """NVIDIA's _upfirdn2d_ref for a 2-D filter: zero insertion, pad, gain ** (ndim / 2), flip."""
    assert pad[0] == pad[2] and pad[1] == pad[3]
    return _fir_ref(x, f * gain, up, pad[0], pad[1])


class _Persistent(nn.Module):
    """Pickled as ``torch_utils.persistence`` pickles a decorated class (see __reduce__)."""

    def __reduce__(self):
        fields = list(super().__reduce__())
        fields += [None] * max(3 - len(fields), 0)
        meta = {
            "type": "class",
            "version": 6,
            "module_src": _PAYLOAD["src"],
            "class_name": type(self).__name__,
            "state": fields[2],
        }
        fields[0] = sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj
        fields[1] = (meta,)
        fields[2] = None
        return tuple(fields)


class FullyConnectedLayer(_Persistent):
    def __init__(
        self, cin: int, cout: int, activation: str = "linear", lr: float = 1.0, bias_init: float = 0
    ):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([cout, cin]) / lr)
        self.bias = nn.Parameter(torch.full([cout], np.float32(bias_init)) + 0.2 * torch.randn(cout))
        self.weight_gain = lr / np.sqrt(cin)  # numpy float64, as in the original
        self.bias_gain = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return F.leaky_relu(x.matmul(w.t()) + b, 0.2) * np.sqrt(2)


class MappingNetwork(_Persistent):
    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 2):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        self.w_avg_beta = 0.995
        features = [z_dim] + [w_dim] * num_layers
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], "lrelu", lr=0.01))
        self.register_buffer("w_avg", torch.randn([w_dim]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x.unsqueeze(1).repeat([1, self.num_ws, 1])


def _modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True):
    """NVIDIA's modulated_conv2d, fused path (eval, float32), and conv2d_resample for up ∈ {1, 2}."""
    batch = x.shape[0]
    cout, cin, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        w = w * dcoefs.reshape(batch, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, cin, kh, kw)
    if up == 1:
        x = F.conv2d(x, w, padding=padding, groups=batch)  # flip_weight=True: correlation
    else:
        fw = f.shape[-1]
        px0 = padding + (fw + up - 1) // 2 - (kw - 1)
        px1 = padding + (fw - up) // 2 - (kw - up)
        w = w.reshape(batch, cout, cin, kh, kw).transpose(1, 2).reshape(batch * cin, cout, kh, kw)
        # flip_weight=False in the layer → not flipped again for the transposed conv
        x = F.conv_transpose2d(x, w, stride=up, padding=0, groups=batch)
        x = _upfirdn_nv(x, f, 1, [px0, px1, px0, px1], gain=up**2)
    x = x.reshape(batch, -1, *x.shape[2:])
    return x + noise if noise is not None else x


class SynthesisLayer(_Persistent):
    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, up: int = 1, conv_clamp=None):
        super().__init__()
        self.resolution, self.up, self.use_noise, self.activation = resolution, up, True, "lrelu"
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", _setup_filter())
        self.padding = 1
        self.act_gain = np.sqrt(2)
        self.affine = FullyConnectedLayer(w_dim, cin, bias_init=1)
        self.weight = nn.Parameter(torch.randn([cout, cin, 3, 3]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.noise_strength = nn.Parameter(0.3 * torch.randn([]))
        self.bias = nn.Parameter(0.3 * torch.randn([cout]))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        noise = self.noise_const * self.noise_strength  # noise_mode='const'
        x = _modulated_conv2d(x, self.weight, styles, noise, self.up, self.padding, self.resample_filter)
        # bias_act: bias, lrelu, × gain, then clamp to ±conv_clamp·gain (gain = 1 here)
        x = F.leaky_relu(x + self.bias.reshape(1, -1, 1, 1), 0.2) * self.act_gain
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class ToRGBLayer(_Persistent):
    def __init__(self, cin: int, cout: int, w_dim: int, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, cin, bias_init=1)
        self.weight = nn.Parameter(torch.randn([cout, cin, 1, 1]))
        self.bias = nn.Parameter(0.3 * torch.randn([cout]))
        self.weight_gain = 1 / np.sqrt(cin * 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = _modulated_conv2d(x, self.weight, styles, demodulate=False)
        x = x + self.bias.reshape(1, -1, 1, 1)
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


class SynthesisBlock(_Persistent):
    def __init__(self, cin, cout, w_dim, resolution, img_channels, is_last, conv_clamp=None):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution = cin, w_dim, resolution
        self.img_channels, self.is_last, self.architecture = img_channels, is_last, "skip"
        self.use_fp16 = False
        self.register_buffer("resample_filter", _setup_filter())
        self.num_conv, self.num_torgb = 0, 0
        if cin == 0:
            self.const = nn.Parameter(torch.randn([cout, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(cin, cout, w_dim, resolution, up=2, conv_clamp=conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(cout, cout, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(cout, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_torgb += 1

    def forward(self, x, img, ws):
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter))
        else:
            x = self.conv0(x, next(w_iter))
            x = self.conv1(x, next(w_iter))
        if img is not None:  # upfirdn2d.upsample2d: pad [fw//2 + (up-1)//2 …] → (2, 1), gain up²
            img = _upfirdn_nv(img, self.resample_filter, 2, [2, 1, 2, 1], gain=4)
        y = self.torgb(x, next(w_iter))
        return x, (img + y if img is not None else y)


class SynthesisNetwork(_Persistent):
    def __init__(self, w_dim, img_resolution, img_channels, channels, conv_clamp=None):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, int(np.log2(img_resolution)) + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0,
                channels[res],
                w_dim,
                res,
                img_channels,
                res == img_resolution,
                conv_clamp=conv_clamp,
            )
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb))
            w_idx += block.num_conv
        return img


class Generator(_Persistent):
    def __init__(self, z_dim, w_dim, img_resolution, img_channels, channels, conv_clamp=None, n_mlp=2):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, 0, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        easy = sys.modules["dnnlib.util"].EasyDict
        self._init_kwargs = easy(
            synthesis_kwargs=easy(conv_clamp=conv_clamp), mapping_kwargs=easy(num_layers=2)
        )
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channels, conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, 0, w_dim, self.num_ws, n_mlp)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.mapping(z))


@contextlib.contextmanager
def _nvidia_modules(marker: Path) -> Iterator[None]:
    """Throwaway ``torch_utils.persistence`` and ``dnnlib.util`` for pickling only. Their
    ``_reconstruct_persistent_obj`` does what the original does first: execute the source."""
    names = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
    assert not any(n in sys.modules for n in names)
    persistence = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        module = types.ModuleType("_imported_module_test")
        exec(meta["module_src"], module.__dict__)  # the original's _src_to_module
        return meta

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    top_t, top_d = types.ModuleType("torch_utils"), types.ModuleType("dnnlib")
    top_t.persistence, top_d.util = persistence, util
    sys.modules.update(dict(zip(names, (top_t, persistence, top_d, util))))
    _PAYLOAD["src"] = f"open({str(marker)!r}, 'w').write('the embedded source ran')\n"
    try:
        yield
    finally:
        for n in names:
            sys.modules.pop(n, None)


NV_CH = {4: 8, 8: 6, 16: 4}


def _nvidia_pickle(path: Path, marker: Path, conv_clamp=1.0, edit=None, rgb: int = 1) -> Generator:
    """Pickle ``dict(G, D, G_ema, augment_pipe, training_set_kwargs)`` as training_loop does."""
    with _nvidia_modules(marker):
        torch.manual_seed(3)
        g = Generator(
            z_dim=6, w_dim=8, img_resolution=16, img_channels=rgb, channels=NV_CH, conv_clamp=conv_clamp
        )
        g.eval().requires_grad_(False)
        if edit is not None:
            edit(g)
        d = FullyConnectedLayer(4, 1)  # stands in for D
        data = {"training_set_kwargs": {"path": "x.zip", "resolution": 16}, "G": g, "D": d, "G_ema": g}
        data["augment_pipe"] = None
        with open(path, "wb") as f:
            pickle.dump(data, f)
    assert "torch_utils.persistence" not in sys.modules
    return g


def test_nvidia_pickle_imports_without_running_its_code_and_matches(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    g = _nvidia_pickle(tmp_path / "net.pkl", marker)
    module, cfg = import_nvidia_pickle(tmp_path / "net.pkl")
    assert not marker.exists(), "the embedded module source ran"
    kw = cfg["kwargs"]
    assert (kw["image_size"], kw["z_dim"], kw["w_dim"], kw["n_mlp"], kw["image_channels"]) == (16, 6, 8, 2, 1)
    assert kw["channels"] == NV_CH and kw["conv_clamp"] == 1.0 and kw["lr_mlp"] == pytest.approx(0.01)
    assert cfg["w_avg_source"] == "mapping.w_avg" and cfg["source_persistence_version"] == 6
    torch.testing.assert_close(module.w_avg, g.mapping.w_avg)
    z = torch.randn(3, 6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ws = g.mapping(z)
        ref = g.synthesis(ws)
        torch.testing.assert_close(module.mapping(z), ws[:, 0], atol=ATOL, rtol=1e-4)
        out = module.synthesis(ws[:, 0])
        torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
        torch.testing.assert_close(module(z), ref, atol=ATOL, rtol=0)
        # W+ too (every layer its own w), and the clamp is active at conv_clamp = 1.
        wp = ws + 0.5 * torch.randn(ws.shape, generator=torch.Generator().manual_seed(4))
        torch.testing.assert_close(module.synthesis(wp), g.synthesis(wp), atol=ATOL, rtol=0)
        module.conv_clamp = None
        for m in module.modules():
            if hasattr(m, "clamp") and not callable(m.clamp):
                m.clamp = None
        assert float((module.synthesis(ws[:, 0]) - ref).abs().max()) > 1e-3
    assert not marker.exists()


def test_the_fake_persistence_payload_is_live(tmp_path: Path) -> None:
    """Control: an unrestricted unpickler with persistence's hook does run the source."""
    marker = tmp_path / "marker.txt"
    _nvidia_pickle(tmp_path / "net.pkl", marker)
    assert not marker.exists()
    with _nvidia_modules(marker), open(tmp_path / "net.pkl", "rb") as f:
        pickle.load(f)
    assert marker.read_text() == "the embedded source ran"


def test_nvidia_records_keep_state_and_no_source(tmp_path: Path) -> None:
    _nvidia_pickle(tmp_path / "net.pkl", tmp_path / "m")
    data = load_nvidia_pickle(tmp_path / "net.pkl")
    g = data["G_ema"]
    assert isinstance(g, PersistentRecord) and g.class_name == "Generator"
    assert "module_src" not in g.state and g.modules["mapping"].class_name == "MappingNetwork"
    assert type(g.get("_init_kwargs")).__mro__[1] is dict  # EasyDict read as a dict
    fc = g.modules["mapping"].modules["fc0"]
    assert isinstance(fc.get("weight_gain"), float) and isinstance(fc.parameters["weight"], torch.Tensor)
    assert data["training_set_kwargs"]["resolution"] == 16


def _conditional(g) -> None:
    g.c_dim = 3


def _resnet(g) -> None:
    g.synthesis.b8.architecture = "resnet"


def _stylegan3(g) -> None:
    syn = g.synthesis
    del syn.b4
    syn.input = SynthesisInput()


class SynthesisInput(_Persistent):
    def __init__(self) -> None:
        super().__init__()
        self.freqs = nn.Parameter(torch.randn(4, 2))


@pytest.mark.parametrize(
    ("edit", "match"),
    [(_conditional, "conditional"), (_resnet, "'resnet' is not supported"), (_stylegan3, "StyleGAN3")],
)
def test_unsupported_nvidia_generators_are_refused(tmp_path: Path, edit, match: str) -> None:
    _nvidia_pickle(tmp_path / "net.pkl", tmp_path / "m", edit=edit)
    with pytest.raises(ModelFileError, match=match):
        import_nvidia_pickle(tmp_path / "net.pkl")
    assert not (tmp_path / "m").exists()


# =======================================================================================
# payloads, foreign classes, broken files
# =======================================================================================
class _Reduce:
    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def test_payload_pickles_are_refused_and_never_run(tmp_path: Path) -> None:
    # Control: the file-writing payload is live under a plain unpickler.
    live = tmp_path / "live.txt"
    pickle.loads(pickle.dumps(_Reduce(pathlib.Path.write_text, live, "x")))
    assert live.exists()

    marker = tmp_path / "pwned.txt"
    payloads = {
        "system": _Reduce(os.system, f"touch {marker}"),
        "exec": _Reduce(exec, f"open({str(marker)!r}, 'w').write('x')"),
        "write_text": _Reduce(pathlib.Path.write_text, marker, "x"),
    }
    for name, obj in payloads.items():
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps({"G_ema": obj}))
        with pytest.raises(ModelFileError, match=r"refusing global \S+") as exc:
            import_nvidia_pickle(path)
        assert name in str(exc.value) or "system" in str(exc.value)
        assert not marker.exists(), name

    # A payload inside a storage record: the inner torch.load is weights_only too.
    import io

    inner = io.BytesIO()
    torch.save(
        _Reduce(exec, f"open({str(marker)!r}, 'w').write('x')"), inner, _use_new_zipfile_serialization=False
    )
    from torch.storage import _load_from_bytes

    path = tmp_path / "storage.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Reduce(_load_from_bytes, inner.getvalue())}))
    with pytest.raises(ModelFileError, match="storage could not be read safely"):
        import_nvidia_pickle(path)
    assert not marker.exists()


def test_state_cannot_be_set_on_the_allowed_globals_themselves(tmp_path: Path) -> None:
    """BUILD onto an allowed global (here: replace the tensor rebuilder's defaults) is refused,
    so one file cannot change how later files are read."""
    from latentviz.models import stylegan_import

    before = stylegan_import._safe_rebuild_tensor.__defaults__
    path = tmp_path / "build.pkl"
    path.write_bytes(b"ctorch._utils\n_rebuild_tensor_v2\n(N}S'__defaults__'\n)stb.")
    with pytest.raises(ModelFileError, match="refusing to set the state of a function"):
        load_nvidia_pickle(path)
    assert stylegan_import._safe_rebuild_tensor.__defaults__ == before
    # A dtype's state is set on a copy: a big-endian state leaves numpy's float64 alone.
    evil = pickle.dumps(np.float64(1.5)).replace(b"\x8c\x01<", b"\x8c\x01>")
    path.write_bytes(evil)
    load_nvidia_pickle(path)
    assert np.dtype("f8").isnative and np.array([1.5]).tobytes() == np.float64(1.5).tobytes()


def test_a_pt_with_a_foreign_class_is_refused_by_weights_only(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    ckpt = {
        "g_ema": _rosinality_state(**ROS),
        "extra": _Reduce(exec, f"open({str(marker)!r}, 'w').write('x')"),
    }
    torch.save(ckpt, tmp_path / "evil.pt")
    with pytest.raises(ModelFileError, match="weights_only"):
        import_rosinality(tmp_path / "evil.pt")
    assert not marker.exists()


def test_wrong_and_truncated_files_give_typed_errors(tmp_path: Path) -> None:
    _save_rosinality(tmp_path / "ok.pt")
    _nvidia_pickle(tmp_path / "ok.pkl", tmp_path / "m")
    for name in ("ok.pt", "ok.pkl"):
        b = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(b[: len(b) // 2])
        with pytest.raises(ModelFileError):
            import_checkpoint(tmp_path / f"cut_{name}", tmp_path / "out")
    for name in ("ok.pt", "ok.pkl"):  # cut anywhere: always a typed error
        b = (tmp_path / name).read_bytes()
        for cut in np.linspace(1, len(b) - 1, 25).astype(int):
            (tmp_path / f"cut_{name}").write_bytes(b[:cut])
            with pytest.raises(ModelFileError):
                import_checkpoint(tmp_path / f"cut_{name}", tmp_path / "out")
    torch.save({"g": {}}, tmp_path / "no_ema.pt")
    with pytest.raises(ModelFileError, match="g_ema"):
        import_rosinality(tmp_path / "no_ema.pt")
    torch.save({"g_ema": {"style.1.weight": torch.zeros(2, 2)}}, tmp_path / "partial.pt")
    with pytest.raises(ModelFileError, match="lacks"):
        import_rosinality(tmp_path / "partial.pt")
    huge = _rosinality_state(**ROS)
    huge.update({f"to_rgbs.{i}.bias": torch.zeros(1) for i in range(4, 20)})  # claims 2^22 px
    torch.save({"g_ema": huge}, tmp_path / "huge.pt")
    with pytest.raises(ModelFileError, match="implausible"):
        import_rosinality(tmp_path / "huge.pt")
    (tmp_path / "text.pkl").write_text("not a pickle at all")
    with pytest.raises(ModelFileError, match="network pickle"):
        import_nvidia_pickle(tmp_path / "text.pkl")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ModelFileError, match="G_ema"):
        import_nvidia_pickle(tmp_path / "list.pkl")
    with pytest.raises(ModelFileError, match="layout"):
        import_checkpoint(tmp_path / "model.h5", tmp_path / "out")
    with pytest.raises(ModelFileError, match="no such"):
        import_checkpoint(tmp_path / "missing.pt", tmp_path / "out")
    assert not (tmp_path / "out.safetensors").exists()


# =======================================================================================
# CLI end to end
# =======================================================================================
def test_cli_import_then_load_wrapped_gives_the_reference_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = _save_rosinality(tmp_path / "ros.pt")
    assert (
        main(["import", str(tmp_path / "ros.pt"), "--out", str(tmp_path / "imp" / "ros"), "--name", "tiny"])
        == 0
    )
    assert "rosinality" in capsys.readouterr().out
    g = load_wrapped(tmp_path / "imp" / "ros", device="cpu")
    assert isinstance(g, StyleGenerator) and g.latent_space == "w" and g.name == "tiny"
    assert g.config["source_format"] == "rosinality-stylegan2-pytorch"
    assert len(g.config["source_sha256"]) == 64 and "ros.pt" not in str(g.config)
    w = g.sample_latents(2, seed=0)
    with torch.no_grad():
        torch.testing.assert_close(g(w), _ros_synthesis(ckpt["g_ema"], w, 3), atol=ATOL, rtol=0)

    marker = tmp_path / "marker.txt"
    nv = _nvidia_pickle(tmp_path / "net.pkl", marker)
    assert main(["import", str(tmp_path / "net.pkl"), "--out", str(tmp_path / "nv"), "--json"]) == 0
    assert '"nvidia-stylegan2-ada-pickle"' in capsys.readouterr().out
    g = load_wrapped(tmp_path / "nv", device="cpu")
    assert g.module.conv_clamp == 1.0 and not marker.exists()
    w = g.sample_latents(2, seed=1)
    with torch.no_grad():
        ref = nv.synthesis(w[:, None].repeat(1, g.num_ws, 1))
        torch.testing.assert_close(g(w), ref, atol=ATOL, rtol=0)
        torch.testing.assert_close(g.in_space("z")(torch.ones(1, 6)), nv(torch.ones(1, 6)), atol=ATOL, rtol=0)

    (tmp_path / "bad.pkl").write_bytes(pickle.dumps({"G_ema": _Reduce(os.system, f"touch {marker}")}))
    assert main(["import", str(tmp_path / "bad.pkl"), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "refusing global" in err and "Traceback" not in err and not marker.exists()
