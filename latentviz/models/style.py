"""Style-based generators as latentviz generators: one model, three latent spaces.

A :class:`StyleGenerator` wraps a :class:`~latentviz.models.architectures.stylegan.StyleGAN2Generator`
in one of its latent spaces:

``"z"``
    the mapping network's input, N(0, I), ``latent_shape = (z_dim,)``;
``"w"``
    the mapping network's output, one w for every style layer, ``(w_dim,)``;
``"w+"``
    one w per style layer. Its ``latent_shape`` is flat, ``(num_ws · w_dim,)``, so every
    latentviz routine that treats a latent as a vector (sliders, interpolation, inversion,
    direction sets, the batch store) works unchanged; :meth:`StyleGenerator.as_wplus`
    gives the ``(N, num_ws, w_dim)`` view, and ``(N, num_ws, w_dim)`` batches are accepted;
``"s"``
    StyleSpace (Wu et al. 2021): the outputs of every layer's affine map, concatenated,
    ``(Σ channels,)``. Directions here move single style channels (StylEx's AttFind).

:meth:`StyleGenerator.in_space` gives the same model in another space (the weights are
shared, not copied). No-grad calls reuse the activations of unchanged early stages
(:class:`~latentviz.models.architectures.stylegan.SynthesisCache`), so a slider that moves
only fine styles costs only the late stages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import torch

from latentviz.errors import LatentError, ShapeError
from latentviz.models.architectures.stylegan import StyleGAN2Generator, SynthesisCache
from latentviz.models.generator import Generator

__all__ = ["LAYER_GROUPS", "SPACES", "StyleGenerator", "layer_range", "lift_direction"]

SPACES = ("z", "w", "w+", "s")
# GANSpace's coarse / middle / fine split, as fractions of the style layers.
LAYER_GROUPS = {"coarse": (0.0, 0.4), "middle": (0.4, 0.7), "fine": (0.7, 1.0), "all": (0.0, 1.0)}


def layer_range(spec: str | Sequence[int] | range | None, num_ws: int) -> tuple[int, ...]:
    """Style-layer indices from ``"coarse"``/``"middle"``/``"fine"``/``"all"``, ``"a:b"``,
    or explicit indices.

    Raises
    ------
    LatentError
        For an unknown name or indices outside ``0 … num_ws − 1``.
    """
    if spec is None:
        return tuple(range(num_ws))
    if isinstance(spec, str):
        if spec in LAYER_GROUPS:
            lo, hi = LAYER_GROUPS[spec]
            a, b = round(lo * num_ws), round(hi * num_ws)
            return tuple(range(a, max(b, a + 1)))
        if ":" in spec:
            try:
                a, b = (int(p) if p else d for p, d in zip(spec.split(":", 1), (0, num_ws)))
            except ValueError:
                raise LatentError(f"layer range {spec!r} is not 'a:b'") from None
            spec = range(a, b)
        else:
            raise LatentError(
                f"unknown layer group {spec!r}; use coarse, middle, fine, all, 'a:b' or indices"
            )
    idx = tuple(sorted({int(i) for i in spec}))
    if not idx or idx[0] < 0 or idx[-1] >= num_ws:
        raise LatentError(f"style layers {list(idx)} are not within 0 … {num_ws - 1}")
    return idx


def lift_direction(v: torch.Tensor, num_ws: int, layers: Sequence[int]) -> torch.Tensor:
    """A W direction ``(w_dim,)`` (or ``(K, w_dim)``) as flat W+ directions that move only
    ``layers`` (unit length again)."""
    single = v.ndim == 1
    v = v[None] if single else v
    out = v.new_zeros(v.shape[0], num_ws, v.shape[1])
    out[:, list(layers)] = v[:, None, :]
    out = out.flatten(1)
    out = out / out.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return out[0] if single else out


class StyleGenerator(Generator):
    """A StyleGAN2-family model in latent space ``z``, ``w`` or ``w+``.

    Parameters
    ----------
    module
        The StyleGAN2 generator (optionally holding an encoder).
    latent_space
        ``"z"``, ``"w"`` or ``"w+"``.
    truncation
        ψ of :meth:`sample_latents` in W and W+ (1 = none), towards ``w_avg``.
    clamp_output
        Clip images to [-1, 1] (StyleGAN2 has no output tanh, so a model trained on data in
        [-1, 1] overshoots at saturated pixels; latentviz's own trained models set it).
    name, device, config
        As :class:`~latentviz.models.Generator`.

    Examples
    --------
    >>> from latentviz.models.architectures.stylegan import StyleGAN2Generator
    >>> g = StyleGenerator(StyleGAN2Generator(16, 8, 8, channel_base=64, channel_max=16), "w", device="cpu")
    >>> g(g.sample_latents(2, seed=0)).shape, g.in_space("w+").latent_shape
    (torch.Size([2, 1, 16, 16]), (48,))
    """

    def __init__(
        self,
        module: StyleGAN2Generator,
        latent_space: str = "w",
        *,
        truncation: float = 1.0,
        clamp_output: bool = False,
        name: str = "stylegan2",
        device: str | torch.device | None = None,
        config: dict | None = None,
    ) -> None:
        if latent_space not in SPACES:
            raise LatentError(f"latent space must be one of {SPACES}, not {latent_space!r}")
        if not isinstance(module, StyleGAN2Generator):
            raise ShapeError(f"StyleGenerator wraps a StyleGAN2Generator, not {type(module).__name__}")
        shape = {
            "z": (module.z_dim,),
            "w": (module.w_dim,),
            "w+": (module.num_ws * module.w_dim,),
            "s": (sum(module.style_dims()),),
        }
        encoder = self._encode_into_space if module.encoder_space and latent_space != "z" else None
        self._style_dims = module.style_dims()
        super().__init__(
            module,
            shape[latent_space],
            latent_space,
            encoder=encoder,
            name=name,
            device=device,
            config=config,
        )
        self.truncation = float(truncation)
        self.clamp_output = bool(clamp_output)
        self.cache = SynthesisCache()
        self._cache_lock = threading.Lock()

    # -- structure ------------------------------------------------------------------
    @property
    def num_ws(self) -> int:
        """Number of style inputs (2·log2(size) − 2)."""
        return self.module.num_ws

    @property
    def w_dim(self) -> int:
        return self.module.w_dim

    @property
    def layer_resolutions(self) -> list[int]:
        """The resolution each style layer drives."""
        return self.module.layer_resolutions()

    @property
    def style_dims(self) -> list[int]:
        """Channels of each StyleSpace block."""
        return list(self._style_dims)

    def in_space(self, latent_space: str) -> StyleGenerator:
        """The same model (shared weights) in another latent space."""
        other = StyleGenerator(
            self.module,
            latent_space,
            truncation=self.truncation,
            clamp_output=self.clamp_output,
            name=self.name,
            device=self._device,
            config=self.config,
        )
        other._sha256 = self._sha256
        return other

    def to(self, device: str | torch.device) -> StyleGenerator:
        super().to(device)
        self.cache.clear()
        return self

    # -- latents --------------------------------------------------------------------
    def sample_latents(
        self, n: int, seed: int | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """``n`` latents of this space: z ~ N(0, I), or its w (broadcast for W+), truncated
        towards ``w_avg`` by ψ = ``truncation`` (default: the generator's)."""
        psi = self.truncation if truncation is None else float(truncation)
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed)) if seed is not None else gen.seed()
        z = torch.randn((n, self.module.z_dim), generator=gen).to(self._device)
        if self.latent_space == "z":
            return z
        with torch.no_grad():
            w = self.module.mapping(z, psi)
            if self.latent_space == "s":
                return torch.cat(self.module.styles(w), 1)
        return w if self.latent_space == "w" else self.module.broadcast(w).flatten(1).contiguous()

    @property
    def w_avg(self) -> torch.Tensor:
        """The mean w (the truncation centre), in this space's shape (z: not defined)."""
        if self.latent_space == "z":
            raise LatentError("Z has no w_avg; use in_space('w')")
        w = self.module.w_avg[None]
        if self.latent_space == "s":
            return torch.cat(self.module.styles(w), 1)[0]
        return w[0] if self.latent_space == "w" else self.module.broadcast(w).flatten(1)[0]

    def check_latents(self, z: torch.Tensor, values: bool = True) -> torch.Tensor:
        if self.latent_space == "w+" and isinstance(z, torch.Tensor) and z.ndim == 3:
            if tuple(z.shape[1:]) != (self.num_ws, self.w_dim):
                raise LatentError(
                    f"W+ latent batch has shape {tuple(z.shape)}; {self.name} expects "
                    f"(N, {self.num_ws}, {self.w_dim}) or (N, {self.num_ws * self.w_dim})"
                )
            z = z.flatten(1)
        return super().check_latents(z, values)

    def as_wplus(self, latent: torch.Tensor) -> torch.Tensor:
        """This space's latents as W+ ``(N, num_ws, w_dim)`` (Z goes through the mapping)."""
        if self.latent_space == "s":
            raise LatentError("StyleSpace codes have no W+ form; use split_styles")
        latent = self.check_latents(latent)
        if self.latent_space == "z":
            latent = self.module.mapping(latent)
        if self.latent_space == "w+":
            return latent.view(-1, self.num_ws, self.w_dim)
        return self.module.broadcast(latent)

    def styles(self, latent: torch.Tensor) -> list[torch.Tensor]:
        """StyleSpace coordinates (one ``(N, channels)`` per block) of this space's latents."""
        if self.latent_space == "s":
            return self.split_styles(latent)
        return self.module.styles(self.as_wplus(latent))

    def split_styles(self, s: torch.Tensor) -> list[torch.Tensor]:
        """A flat StyleSpace batch ``(N, Σ channels)`` as one ``(N, channels)`` per block."""
        s = s if s.ndim == 2 else s[None]
        return list(torch.split(s.to(self._device, torch.float32), self.style_dims, dim=1))

    def style_channel_names(self) -> list[str]:
        """``"block j (R px) ch c"`` for every StyleSpace coordinate, in flat order."""
        res = self.module.style_block_resolutions()
        return [f"block {j} ({res[j]} px) ch {c}" for j, n in enumerate(self.style_dims) for c in range(n)]

    def render_styles(self, styles: list[torch.Tensor]) -> torch.Tensor:
        """Images from StyleSpace coordinates (fixed noise)."""
        x = self.module.synthesis_styles([s.to(self._device) for s in styles])
        return x.clamp(-1.0, 1.0) if self.clamp_output else x

    def edit(
        self,
        latent: torch.Tensor,
        direction: torch.Tensor,
        amount: float | torch.Tensor,
        layers: str | Sequence[int] | None = None,
    ) -> torch.Tensor:
        """W+ latents (flat) moved by ``amount`` along a W direction on ``layers`` only.

        ``amount`` may be a scalar or one value per latent.
        """
        ws = self.as_wplus(latent).clone()
        idx = list(layer_range(layers, self.num_ws))
        d = torch.as_tensor(direction, dtype=ws.dtype, device=ws.device).reshape(-1)
        if d.numel() != self.w_dim:
            raise LatentError(f"a W direction has {self.w_dim} values, not {d.numel()}")
        a = torch.as_tensor(amount, dtype=ws.dtype, device=ws.device).reshape(-1, 1, 1)
        ws[:, idx] = ws[:, idx] + a * d
        return ws.flatten(1)

    # -- forward --------------------------------------------------------------------
    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for this space's latents. Differentiable in ``z``; no-grad
        calls reuse cached early stages when only later styles changed."""
        return self._forward(self.check_latents(z))

    def _forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self._synthesise(z)
        return x.clamp(-1.0, 1.0) if self.clamp_output else x

    def _synthesise(self, z: torch.Tensor) -> torch.Tensor:
        m = self.module
        if self.latent_space == "s":
            return m.synthesis_styles(self.split_styles(z))
        if self.latent_space == "z":
            w = m.mapping(z)
        elif self.latent_space == "w":
            w = z
        else:
            w = z.view(-1, self.num_ws, self.w_dim)
        if torch.is_grad_enabled():
            return m.synthesis(w)
        with self._cache_lock:  # one cache, possibly several dashboard threads
            return m.synthesis(w, cache=self.cache)

    def _encode_into_space(self, x: torch.Tensor) -> torch.Tensor:
        code = self.module.encode(x)
        if self.latent_space == "s":
            return torch.cat(self.module.styles(code), 1)
        if self.latent_space == "w+":
            return self.module.broadcast(code).flatten(1) if code.ndim == 2 else code.flatten(1)
        # A W+ encoder read in W: the mean over layers (its shared part plus mean offsets).
        return code if code.ndim == 2 else code.mean(1)

    def __repr__(self) -> str:
        enc = ", encoder" if self.has_encoder else ""
        return (
            f"StyleGenerator({self.name!r}, space={self.latent_space!r}, num_ws={self.num_ws}, "
            f"w_dim={self.w_dim}{enc}, device={self._device})"
        )
