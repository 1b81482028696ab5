"""A StyleGAN2-family generator, its discriminator and an encoder into W / W+.

Written from the StyleGAN2 paper (Karras et al. 2020, "Analyzing and Improving the Image
Quality of StyleGAN"):

* a mapping network z → w (pixel norm, ``n_mlp`` equalised-lr linear layers with a
  learning-rate multiplier of 0.01 and leaky ReLU);
* a learned 4×4 constant, then per resolution two 3×3 convolutions whose weights are
  *modulated* by a per-layer affine map of w (the style, StyleSpace's coordinates) and
  *demodulated*; per-layer noise with a learned strength; skip-connected toRGB outputs;
* ``num_ws = 2·log2(size) − 2`` style inputs (10 at 64 px); W+ gives each its own w;
* truncation towards the running mean ``w_avg``.

The arithmetic (upsampling by a transposed convolution followed by a [1, 3, 3, 1] blur,
the skip upsampler, the order "modulate → noise → bias → leaky ReLU × √2", equalised
learning rate) is the one of the widely used PyTorch re-implementation, so that its
checkpoints import exactly (:mod:`latentviz.models.stylegan_import`). Modulation is
applied to the activations rather than to per-sample weights (the "non-fused" form, the
same numbers as a grouped convolution and faster on CPUs).

Layer indexing follows the re-implementation: style 0 drives the 4×4 convolution,
style 1 the 4×4 toRGB *and* the first 8×8 convolution, and so on; the synthesis is run
in stages (one per resolution) so that an edit of later styles can restart from cached
activations of the earlier stages (:class:`SynthesisCache`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from latentviz.errors import ShapeError

__all__ = [
    "EqualLinear",
    "ModulatedConv2d",
    "StyleDiscriminator",
    "StyleEncoder",
    "StyleGAN2Generator",
    "SynthesisCache",
    "style_channels",
    "upfirdn2d",
]

SQRT2 = math.sqrt(2.0)


def style_channels(image_size: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Feature maps per resolution: ``min(channel_max, channel_base // res)`` (as NVIDIA's
    ``channel_base`` / ``channel_max`` options)."""
    log = int(math.log2(image_size))
    return {2**r: max(1, min(channel_max, channel_base // 2**r)) for r in range(2, log + 1)}


def _check_size(image_size: int) -> int:
    log = math.log2(image_size) if image_size > 0 else 0.0
    if image_size < 8 or log != int(log):
        raise ShapeError(f"image_size must be a power of two ≥ 8, not {image_size}")
    return int(log)


def _make_kernel(k: list[float] | tuple[float, ...]) -> torch.Tensor:
    t = torch.tensor(k, dtype=torch.float32)
    t = t[None, :] * t[:, None]
    return t / t.sum()


def upfirdn2d(
    x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Upsample by zero insertion, pad, filter with a 2-D FIR ``kernel``, downsample.

    ``pad = (before, after)`` applies to both axes; negative values crop. Pure torch,
    so it runs on every device (the original uses a CUDA kernel for the same result).
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        hh, ww = x.shape[2], x.shape[3]
        x = x[:, :, max(-p0, 0) : hh - max(-p1, 0), max(-p0, 0) : ww - max(-p1, 0)]
    x = _fir(x, torch.flip(kernel, [0, 1]).to(x.dtype))
    return x[:, :, ::down, ::down] if down > 1 else x


def _fir(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Valid 2-D correlation of every channel with a small ``kernel``.

    A rank-one kernel (every kernel StyleGAN2 uses) runs as two 1-D passes of shifted
    multiply-adds, several times faster on CPUs than a depthwise convolution.
    """
    kh, kw = kernel.shape
    total = kernel.sum()
    rows, cols = kernel.sum(1), kernel.sum(0)
    if torch.allclose(torch.outer(rows, cols) / total, kernel, atol=1e-7):
        rows, cols = rows / total, cols
        h, w = x.shape[2] - kh + 1, x.shape[3] - kw + 1
        y = sum(cols[j] * x[:, :, :, j : j + w] for j in range(kw))
        return sum(rows[i] * y[:, :, i : i + h, :] for i in range(kh))
    c = x.shape[1]
    return F.conv2d(x, kernel[None, None].expand(c, 1, kh, kw), groups=c)


class Blur(nn.Module):
    """FIR low-pass filter with padding (after a transposed convolution or before a strided one)."""

    def __init__(self, kernel: list[float], pad: tuple[int, int], upsample_factor: int = 1) -> None:
        super().__init__()
        k = _make_kernel(kernel)
        if upsample_factor > 1:
            k = k * upsample_factor**2
        self.register_buffer("kernel", k)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """×2 FIR upsampler of the skip branch."""

    def __init__(self, kernel: list[float], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        k = _make_kernel(kernel) * factor**2
        self.register_buffer("kernel", k)
        p = k.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (weights scaled at run time).

    With ``activation=True`` the bias is added before a leaky ReLU (slope 0.2) scaled by √2.
    """

    def __init__(
        self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activation: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale)
        out = out + self.bias * self.lr_mul
        return F.leaky_relu(out, 0.2) * SQRT2 if self.activation else out


class EqualConv2d(nn.Module):
    """Conv2d with equalised learning rate."""

    def __init__(
        self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, bias: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.scale = 1.0 / math.sqrt(cin * k * k)
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class ModulatedConv2d(nn.Module):
    """A convolution modulated by a style vector ``s`` and (optionally) demodulated.

    ``modulation`` is the per-layer affine map w → s (bias initialised to 1). ``forward``
    takes ``s`` itself, so StyleSpace edits need no second path.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: tuple[float, ...] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        self.cin, self.cout, self.kernel_size = cin, cout, kernel_size
        self.weight = nn.Parameter(torch.randn(1, cout, cin, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(cin * kernel_size**2)
        self.modulation = EqualLinear(w_dim, cin, bias_init=1.0)
        self.demodulate = demodulate
        self.upsample = upsample
        self.padding = kernel_size // 2
        if upsample:
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(
                list(blur_kernel), pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor
            )

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """The StyleSpace coordinates ``s = A w`` of this layer, ``(N, cin)``."""
        return self.modulation(w)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        weight = self.weight[0] * self.scale  # (cout, cin, k, k)
        x = x * s[:, :, None, None]
        if self.upsample:
            out = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2, padding=0)
            out = self.blur(out)
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            # Σ_{i,k} (W_oik s_i)² = (s²) · (Σ_k W_oik²)ᵀ, without a per-sample weight tensor.
            d = (s.square() @ weight.square().sum((2, 3)).t() + 1e-8).rsqrt()
            out = out * d[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by one learned strength."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        return x + self.weight * noise


class BiasLeakyReLU(nn.Module):
    """Per-channel bias, leaky ReLU (0.2), gain √2, then an optional clamp to ±``clamp``
    (NVIDIA's ``conv_clamp``; no state, so it changes no weights file)."""

    def __init__(self, channels: int, clamp: float | None = None) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.clamp = clamp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * SQRT2
        return out if self.clamp is None else out.clamp(-self.clamp, self.clamp)


class StyledConv(nn.Module):
    """Modulated conv → noise → bias → leaky ReLU."""

    def __init__(
        self, cin: int, cout: int, w_dim: int, upsample: bool = False, clamp: float | None = None
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = BiasLeakyReLU(cout, clamp=clamp)

    def forward(self, x: torch.Tensor, s: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, s), noise))


class ToRGB(nn.Module):
    """1×1 modulated conv (no demodulation) to image channels, added to the upsampled skip."""

    def __init__(
        self, cin: int, w_dim: int, out_channels: int, upsample: bool = True, clamp: float | None = None
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(cin, out_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.clamp = clamp
        if upsample:
            self.upsample = Upsample([1, 3, 3, 1])

    def forward(self, x: torch.Tensor, s: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, s) + self.bias
        if self.clamp is not None:  # NVIDIA clamps this layer's own output, before the skip sum
            out = out.clamp(-self.clamp, self.clamp)
        if skip is not None:
            out = out + self.upsample(skip)
        return out


@dataclass
class SynthesisCache:
    """Activations of the last no-grad synthesis, reused when only later styles change.

    ``ws`` is the last W+ batch, ``stages[i]`` the ``(features, skip)`` after stage ``i``.
    ``hits`` / ``misses`` count stages reused / recomputed (for tests and benchmarks).
    """

    ws: torch.Tensor | None = None
    stages: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0

    def clear(self) -> None:
        self.ws, self.stages = None, []


class StyleGAN2Generator(nn.Module):
    """StyleGAN2 generator: ``forward(z)`` maps ``(N, z_dim)`` to images ``(N, C, S, S)``.

    Parameters
    ----------
    image_size
        Output size (a power of two ≥ 8).
    z_dim, w_dim
        Sizes of Z and W.
    n_mlp
        Layers of the mapping network (8 in the paper; 4 suffices for phantoms).
    channel_base, channel_max
        Feature maps per resolution, ``min(channel_max, channel_base // res)``.
    image_channels
        1 (grey) or 3.
    lr_mlp
        Learning-rate multiplier of the mapping network.
    channels
        Explicit ``{resolution: channels}`` (overrides base/max; used by imports).
    encoder
        ``None`` (a plain generator), ``"w"`` or ``"w+"``: also hold a
        :class:`StyleEncoder` into that space (the style-based autoencoder), saved and
        loaded with the generator as one file.
    conv_clamp
        Clamp every convolution's activated output to ±``conv_clamp`` and every toRGB
        output to ±``conv_clamp`` (NVIDIA's option, often 256; ``None``: no clamp). Adds no
        weights, so files saved without it load unchanged.

    Examples
    --------
    >>> g = StyleGAN2Generator(image_size=16, z_dim=8, w_dim=8, channel_base=64, channel_max=16)
    >>> g.num_ws, g(torch.randn(2, 8)).shape
    (6, torch.Size([2, 1, 16, 16]))
    """

    def __init__(
        self,
        image_size: int = 64,
        z_dim: int = 64,
        w_dim: int = 64,
        n_mlp: int = 4,
        channel_base: int = 4096,
        channel_max: int = 128,
        image_channels: int = 1,
        lr_mlp: float = 0.01,
        channels: dict[int, int] | dict[str, int] | None = None,
        encoder: str | None = None,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        log = _check_size(image_size)
        if encoder not in (None, "w", "w+"):
            raise ShapeError(f"encoder must be None, 'w' or 'w+', not {encoder!r}")
        self.image_size, self.z_dim, self.w_dim = image_size, z_dim, w_dim
        self.image_channels = image_channels
        ch = (
            {int(k): int(v) for k, v in channels.items()}
            if channels
            else style_channels(image_size, channel_base, channel_max)
        )
        self.channels = ch
        clamp = None if conv_clamp is None else float(conv_clamp)
        self.conv_clamp = clamp
        layers: list[nn.Module] = [nn.Identity()]  # index 0 is the pixel norm (kept for key layout)
        layers += [
            EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mlp, activation=True)
            for i in range(n_mlp)
        ]
        self.style = nn.Sequential(*layers)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.input = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        self.conv1 = StyledConv(ch[4], ch[4], w_dim, clamp=clamp)
        self.to_rgb1 = ToRGB(ch[4], w_dim, image_channels, upsample=False, clamp=clamp)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        cin = ch[4]
        for r in range(3, log + 1):
            cout = ch[2**r]
            self.convs.append(StyledConv(cin, cout, w_dim, upsample=True, clamp=clamp))
            self.convs.append(StyledConv(cout, cout, w_dim, clamp=clamp))
            self.to_rgbs.append(ToRGB(cout, w_dim, image_channels, clamp=clamp))
            cin = cout
        self.num_layers = (log - 2) * 2 + 1
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        self.num_ws = log * 2 - 2
        self.encoder_space = encoder
        if encoder is not None:
            self.encoder = StyleEncoder(
                image_size,
                image_channels,
                w_dim,
                self.num_ws,
                plus=encoder == "w+",
                channel_base=channel_base,
                channel_max=channel_max,
            )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] → w (or W+) with the bundled encoder."""
        if self.encoder_space is None:
            raise NotImplementedError("this generator has no encoder")
        return self.encoder(x)

    # -- structure ------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        """Resolutions 4, 8, …, S (one synthesis stage each)."""
        return len(self.to_rgbs) + 1

    def layer_resolutions(self) -> list[int]:
        """The highest resolution each of the ``num_ws`` styles modulates (style ``i`` drives
        a toRGB at one resolution and the first convolution of the next)."""
        return [min(self.image_size, 2 ** ((i + 5) // 2)) for i in range(self.num_ws)]

    def style_layers(self) -> list[ModulatedConv2d]:
        """Modulated convolutions in the order of the StyleSpace blocks, with their w index."""
        return [m for m, _ in self._style_uses()]

    def _style_uses(self) -> list[tuple[ModulatedConv2d, int]]:
        uses = [(self.conv1.conv, 0), (self.to_rgb1.conv, 1)]
        for b in range(len(self.to_rgbs)):
            i = 2 * b + 1
            uses += [
                (self.convs[2 * b].conv, i),
                (self.convs[2 * b + 1].conv, i + 1),
                (self.to_rgbs[b].conv, i + 2),
            ]
        return uses

    def style_block_resolutions(self) -> list[int]:
        """Resolution of the layer each StyleSpace block modulates."""
        out = [4, 4]
        for b in range(len(self.to_rgbs)):
            r = 2 ** (b + 3)
            out += [r, r, r]
        return out

    def style_dims(self) -> list[int]:
        """Channels of each StyleSpace block."""
        return [m.cin for m in self.style_layers()]

    # -- mapping --------------------------------------------------------------------
    def mapping(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """``w`` for ``z`` (pixel norm first), truncated towards ``w_avg`` when ``truncation < 1``."""
        z = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        w = self.style(z)
        if truncation != 1.0:
            w = self.w_avg + truncation * (w - self.w_avg)
        return w

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """``(N, w_dim)`` → ``(N, num_ws, w_dim)``; W+ passes through."""
        if w.ndim == 2:
            return w[:, None, :].expand(-1, self.num_ws, -1)
        if w.ndim != 3 or w.shape[1] != self.num_ws:
            raise ShapeError(f"W+ latents must be (N, {self.num_ws}, {self.w_dim}), not {tuple(w.shape)}")
        return w

    def styles(self, ws: torch.Tensor) -> list[torch.Tensor]:
        """StyleSpace coordinates of a W (or W+) batch, one ``(N, channels)`` per block."""
        ws = self.broadcast(ws)
        return [m.style(ws[:, i]) for m, i in self._style_uses()]

    # -- synthesis ------------------------------------------------------------------
    def _noise(self, i: int, randomize: bool) -> torch.Tensor | None:
        return None if randomize else getattr(self, f"noise_{i}")

    def _stage(
        self,
        b: int,
        x: torch.Tensor | None,
        skip: torch.Tensor | None,
        s: list[torch.Tensor],
        randomize: bool,
        n: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if b == 0:
            x = self.input.expand(n, -1, -1, -1)
            x = self.conv1(x, s[0], self._noise(0, randomize))
            return x, self.to_rgb1(x, s[1])
        j = 2 + 3 * (b - 1)
        x = self.convs[2 * b - 2](x, s[j], self._noise(2 * b - 1, randomize))
        x = self.convs[2 * b - 1](x, s[j + 1], self._noise(2 * b, randomize))
        return x, self.to_rgbs[b - 1](x, s[j + 2], skip)

    def synthesis_styles(self, s: list[torch.Tensor], randomize_noise: bool = False) -> torch.Tensor:
        """Images from StyleSpace coordinates (a list as :meth:`styles` returns)."""
        n = s[0].shape[0]
        x = skip = None
        for b in range(self.num_stages):
            x, skip = self._stage(b, x, skip, s, randomize_noise, n)
        return skip

    def synthesis(
        self, ws: torch.Tensor, randomize_noise: bool = False, cache: SynthesisCache | None = None
    ) -> torch.Tensor:
        """Images from W ``(N, w_dim)`` or W+ ``(N, num_ws, w_dim)``.

        With a ``cache`` (no-grad use only), the stages before the first style that
        differs from the cached call are reused; the noise must be fixed for that.
        """
        ws = self.broadcast(ws)
        if cache is None or randomize_noise or torch.is_grad_enabled():
            return self.synthesis_styles(self.styles(ws), randomize_noise)
        start = 0
        if cache.ws is not None and cache.ws.shape == ws.shape and cache.ws.device == ws.device:
            changed = (cache.ws != ws).any(dim=2).any(dim=0).nonzero()
            first = int(changed[0]) if len(changed) else self.num_ws
            if first == self.num_ws - 1 and len(cache.stages) == self.num_stages > 1:
                # Only the last style changed: it drives the final toRGB alone.
                x, _ = cache.stages[-1]
                skip = self.to_rgbs[-1](x, self.to_rgbs[-1].conv.style(ws[:, -1]), cache.stages[-2][1])
                cache.hits += self.num_stages - 1
                cache.misses += 1
                cache.ws, cache.stages = ws.clone(), [*cache.stages[:-1], (x, skip)]
                return skip
            start = min(self.num_stages if first >= self.num_ws else first // 2, len(cache.stages))
        uses = self._style_uses()
        s = [m.style(ws[:, i]) if i >= 2 * start - 1 else None for m, i in uses]
        x, skip = cache.stages[start - 1] if start > 0 else (None, None)
        stages = list(cache.stages[:start])
        cache.hits += start
        for b in range(start, self.num_stages):
            x, skip = self._stage(b, x, skip, s, False, ws.shape[0])
            stages.append((x, skip))
            cache.misses += 1
        cache.ws, cache.stages = ws.clone(), stages
        return skip

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation))


class _ResBlock(nn.Module):
    """Residual downsampling block (StyleGAN2's discriminator block, blur then stride 2)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(cin, cin, 3, padding=1)
        self.act1 = BiasLeakyReLU(cin)
        self.blur = Blur([1, 3, 3, 1], pad=(2, 2))
        self.conv2 = EqualConv2d(cin, cout, 3, stride=2, padding=0, bias=False)
        self.act2 = BiasLeakyReLU(cout)
        self.skip_blur = Blur([1, 3, 3, 1], pad=(1, 1))
        self.skip = EqualConv2d(cin, cout, 1, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act2(self.conv2(self.blur(self.act1(self.conv1(x)))))
        return (out + self.skip(self.skip_blur(x))) / SQRT2


class _DownTrunk(nn.Module):
    """From-RGB conv and residual blocks down to 4×4."""

    def __init__(self, image_size: int, image_channels: int, ch: dict[int, int]) -> None:
        super().__init__()
        log = _check_size(image_size)
        self.from_rgb = EqualConv2d(image_channels, ch[image_size], 1)
        self.from_rgb_act = BiasLeakyReLU(ch[image_size])
        self.blocks = nn.Sequential(*[_ResBlock(ch[2**r], ch[2 ** (r - 1)]) for r in range(log, 2, -1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.from_rgb_act(self.from_rgb(x)))


class StyleDiscriminator(nn.Module):
    """StyleGAN2's residual discriminator with a minibatch standard-deviation feature."""

    def __init__(
        self, image_size: int = 64, image_channels: int = 1, channel_base: int = 4096, channel_max: int = 128
    ) -> None:
        super().__init__()
        ch = style_channels(image_size, channel_base, channel_max)
        self.trunk = _DownTrunk(image_size, image_channels, ch)
        self.final_conv = EqualConv2d(ch[4] + 1, ch[4], 3, padding=1)
        self.final_act = BiasLeakyReLU(ch[4])
        self.fc = EqualLinear(ch[4] * 16, ch[4], activation=True)
        self.out = EqualLinear(ch[4], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        n = h.shape[0]
        g = min(4, n)
        while n % g:
            g -= 1
        std = h.view(g, -1, *h.shape[1:]).var(0, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))
        std = std.view(-1, 1, 1, 1).repeat(g, 1, h.shape[2], h.shape[3])
        h = self.final_act(self.final_conv(torch.cat([h, std], 1)))
        return self.out(self.fc(h.flatten(1))).squeeze(1)


class StyleEncoder(nn.Module):
    """Encoder x → w (``plus=False``) or x → W+ (``plus=True``: one w per style layer).

    A residual trunk down to 4×4, then a linear head. The W+ head predicts a shared w
    plus per-layer offsets (as e4e does), so W+ codes stay near W.

    Parameters
    ----------
    image_size, image_channels
        Input images ``(N, C, S, S)`` in [-1, 1].
    w_dim, num_ws
        The generator's W size and number of style inputs.
    plus
        Encode into W+ rather than W.
    """

    def __init__(
        self,
        image_size: int = 64,
        image_channels: int = 1,
        w_dim: int = 64,
        num_ws: int = 10,
        plus: bool = False,
        channel_base: int = 4096,
        channel_max: int = 128,
    ) -> None:
        super().__init__()
        ch = style_channels(image_size, channel_base, channel_max)
        self.w_dim, self.num_ws, self.plus = w_dim, num_ws, plus
        self.image_size, self.image_channels = image_size, image_channels
        self.trunk = _DownTrunk(image_size, image_channels, ch)
        self.fc = EqualLinear(ch[4] * 16, 2 * w_dim, activation=True)
        self.head = EqualLinear(2 * w_dim, w_dim)
        if plus:
            self.offsets = EqualLinear(2 * w_dim, num_ws * w_dim)
            nn.init.zeros_(self.offsets.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.image_channels, self.image_size, self.image_size):
            raise ShapeError(
                f"encoder expects images (N, {self.image_channels}, {self.image_size}, {self.image_size}), "
                f"not {tuple(x.shape)}"
            )
        h = self.fc(self.trunk(x).flatten(1))
        w = self.head(h)
        if not self.plus:
            return w
        return w[:, None, :] + self.offsets(h).view(-1, self.num_ws, self.w_dim)
