"""The generator protocol every later feature talks to, and the wrapper that adapts
any ``torch.nn.Module`` or TorchScript file to it.

A generator maps a latent batch ``z`` of shape ``(N, *latent_shape)`` to an image
batch ``(N, C, H, W)`` in ``[-1, 1]``. Optional parts:

* ``encode(x)`` for VAEs and autoencoders (``has_encoder``);
* a split latent ``z = concat(z1, z2)`` for conditional medXGAN-style models
  (``split_sizes``), where ``z2 = 0`` means the negative class.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from latentviz.errors import ArgumentError, LatentError, ModelFileError, ShapeError
from latentviz.models.device import pick_device
from latentviz.models.latent_layer import layer_inputs, layer_kind, resolve_latent_layer

__all__ = ["Generator", "GeneratorProtocol", "check_latent_shape", "module_sha256", "wrap_generator"]


@runtime_checkable
class GeneratorProtocol(Protocol):
    """What latentviz needs from a generator (structural typing)."""

    latent_shape: tuple[int, ...]
    latent_space: str

    @property
    def device(self) -> torch.device: ...

    def sample_latents(self, n: int, seed: int | None = None) -> torch.Tensor: ...

    def __call__(self, z: torch.Tensor) -> torch.Tensor: ...


def module_sha256(module: nn.Module) -> str:
    """Checksum of a module's parameters and buffers (names, shapes and values).

    Used to bind direction sets and caches to the exact weights they were made for.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        t = tensor.detach().to("cpu").contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


class Generator:
    """Adapt a decoder/generator module to latentviz's generator protocol.

    Parameters
    ----------
    module
        Maps ``(N, *latent_shape)`` to ``(N, C, H, W)``. Modules that want a
        ``(N, D, 1, 1)`` latent (classic DCGAN) get one when ``latent_shape`` says so.
    latent_shape
        Shape of one latent, without the batch axis, e.g. ``(32,)``.
    latent_space
        Tag of the space ("z", "w", …); direction sets record it.
    encoder
        Optional callable ``x -> z`` (a VAE's posterior mean, an autoencoder's encoder).
    split_sizes
        ``(d1, d2)`` for a conditional model whose latent is ``concat(z1, z2)``.
    output_range
        Range of the module's output; it is mapped linearly to ``[-1, 1]``.
    name
        Human-readable name shown in views.
    device
        Where to run; ``None`` picks cuda → mps → cpu.
    latent_layer
        The layer that consumes z, for SeFa: a submodule, its dotted name (``"0"``) or a
        parameter name (``"0.weight"``); found in TorchScript modules too. ``None``: the
        module's ``latent_layer`` attribute, else the first layer taking ``D`` inputs.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> dec = nn.Sequential(nn.Linear(8, 16 * 16), nn.Tanh(), nn.Unflatten(1, (1, 16, 16)))
    >>> g = Generator(dec, latent_shape=(8,), device="cpu")
    >>> g(g.sample_latents(4, seed=0)).shape
    torch.Size([4, 1, 16, 16])
    """

    def __init__(
        self,
        module: nn.Module | Callable[[torch.Tensor], torch.Tensor],
        latent_shape: tuple[int, ...] | int,
        latent_space: str = "z",
        *,
        encoder: nn.Module | Callable[[torch.Tensor], torch.Tensor] | None = None,
        split_sizes: tuple[int, int] | None = None,
        output_range: tuple[float, float] = (-1.0, 1.0),
        name: str = "generator",
        device: str | torch.device | None = None,
        config: dict | None = None,
        latent_layer: str | nn.Module | None = None,
    ) -> None:
        self.latent_shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
        self.latent_space = latent_space
        self.name = name
        self.config = dict(config or {})
        self.output_range = (float(output_range[0]), float(output_range[1]))
        if split_sizes is not None:
            if len(self.latent_shape) != 1 or sum(split_sizes) != self.latent_shape[0]:
                raise ShapeError(
                    f"split_sizes {split_sizes} must add up to the flat latent size {self.latent_shape}"
                )
        self.split_sizes = tuple(split_sizes) if split_sizes is not None else None
        self._device = pick_device(device)
        self.module = module.to(self._device) if isinstance(module, nn.Module) else module
        self.encoder = encoder.to(self._device) if isinstance(encoder, nn.Module) else encoder
        for m in (self.module, self.encoder):
            if isinstance(m, nn.Module):
                m.eval()
                for prm in m.parameters():
                    prm.requires_grad_(False)
        self.latent_layer: nn.Module | None = None
        if latent_layer is not None:
            if not isinstance(self.module, nn.Module):
                raise ArgumentError(f"latent_layer= needs an nn.Module generator, {self.name} is a callable")
            self.latent_layer = resolve_latent_layer(self.module, latent_layer)
        self._sha256: str | None = None

    # -- protocol --------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def latent_dim(self) -> int:
        """Number of scalars in one latent."""
        n = 1
        for s in self.latent_shape:
            n *= s
        return n

    @property
    def has_encoder(self) -> bool:
        return self.encoder is not None

    @property
    def is_conditional(self) -> bool:
        return self.split_sizes is not None

    @property
    def sha256(self) -> str:
        """Checksum of the weights (computed once)."""
        if self._sha256 is None:
            if isinstance(self.module, nn.Module):
                self._sha256 = module_sha256(self.module)
            else:
                self._sha256 = hashlib.sha256(repr(self.module).encode()).hexdigest()
        return self._sha256

    def to(self, device: str | torch.device) -> Generator:
        """Move the generator (and encoder) to ``device``; returns ``self``."""
        self._device = torch.device(device)
        for attr in ("module", "encoder"):
            m = getattr(self, attr)
            if isinstance(m, nn.Module):
                setattr(self, attr, m.to(self._device))
        return self

    def sample_latents(self, n: int, seed: int | None = None, truncation: float = 1.0) -> torch.Tensor:
        """Draw ``n`` latents from N(0, I), scaled by ``truncation``.

        For a conditional model the z2 part is drawn too (a positive latent);
        use :meth:`join` with zeros for a negative one.
        """
        gen = torch.Generator(device="cpu")
        if seed is not None:
            gen.manual_seed(int(seed))
        else:
            gen.seed()
        z = torch.randn((n, *self.latent_shape), generator=gen) * float(truncation)
        return z.to(self._device)

    def check_latents(self, z: torch.Tensor, values: bool = True) -> torch.Tensor:
        """Validate a latent batch and move it to the device.

        ``values=False`` checks the shape only: the finiteness check reads the batch back
        to the host, which on an accelerator waits for every queued kernel, so hot loops
        check their latents once at the boundary and then skip it
        (:meth:`forward_trusted`).

        Raises
        ------
        LatentError
            On a wrong shape, an empty batch or non-finite values.
        """
        if not isinstance(z, torch.Tensor):
            z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim == len(self.latent_shape):
            z = z.unsqueeze(0)
        if tuple(z.shape[1:]) != self.latent_shape:
            raise LatentError(
                f"latent batch has shape {tuple(z.shape)}; {self.name} expects "
                f"(N, {', '.join(map(str, self.latent_shape))})"
            )
        if z.shape[0] == 0:
            raise LatentError(f"latent batch for {self.name} is empty (shape {tuple(z.shape)})")
        if values and not torch.isfinite(z).all():
            raise LatentError(f"latent batch for {self.name} contains NaN or infinite values")
        return z.to(self._device, torch.float32)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Map a latent batch to images in [-1, 1]. Differentiable in ``z``."""
        return self._forward(self.check_latents(z))

    def forward_trusted(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`__call__` without the finiteness check, so without a device→host sync.

        For hot loops (inversion, Voynov–Babenko steps, slider frames) whose latents were
        checked once where they entered; the shape is still checked.
        """
        return self._forward(self.check_latents(z, values=False))

    def _forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.module(z)
        lo, hi = self.output_range
        if (lo, hi) != (-1.0, 1.0):
            x = (x - lo) * (2.0 / (hi - lo)) - 1.0
        return x

    def generate(self, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images for many latents without building a graph, in chunks."""
        z = self.check_latents(z)
        with torch.inference_mode():
            return torch.cat(
                [self.forward_trusted(z[i : i + batch_size]) for i in range(0, len(z), batch_size)]
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one output image (found by one forward pass)."""
        if "image_shape" not in self.config:
            with torch.inference_mode():
                out = self(torch.zeros((1, *self.latent_shape), device=self._device))
            self.config["image_shape"] = tuple(int(s) for s in out.shape[1:])
        return tuple(self.config["image_shape"])

    # -- optional parts ----------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map images in [-1, 1] to latents (VAEs and autoencoders only)."""
        if self.encoder is None:
            raise NotImplementedError(f"{self.name} has no encoder")
        return self.encoder(x.to(self._device))

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split a conditional latent into ``(z1, z2)`` (anatomy, pathology)."""
        if self.split_sizes is None:
            raise NotImplementedError(f"{self.name} is not a conditional (z1, z2) model")
        d1, _ = self.split_sizes
        return z[:, :d1], z[:, d1:]

    def join(self, z1: torch.Tensor, z2: torch.Tensor | None = None) -> torch.Tensor:
        """Join ``(z1, z2)``; ``z2=None`` means zeros, the negative class."""
        if self.split_sizes is None:
            raise NotImplementedError(f"{self.name} is not a conditional (z1, z2) model")
        if z2 is None:
            z2 = torch.zeros((z1.shape[0], self.split_sizes[1]), device=z1.device, dtype=z1.dtype)
        return torch.cat([z1, z2], dim=1)

    def __repr__(self) -> str:
        extra = f", split={self.split_sizes}" if self.split_sizes else ""
        enc = ", encoder" if self.has_encoder else ""
        return (
            f"Generator({self.name!r}, latent_shape={self.latent_shape}, "
            f"space={self.latent_space!r}{extra}{enc}, device={self._device})"
        )


def wrap_generator(
    obj: nn.Module | str | Path,
    latent_shape: tuple[int, ...] | int,
    **kwargs,
) -> Generator:
    """Wrap a module, or load a TorchScript file, as a :class:`Generator`.

    A TorchScript file is checked on wrap with one forward pass of a zero latent
    ``(1, *latent_shape)``: a wrong ``latent_shape`` raises a :class:`ShapeError` that says
    which shape was tried and, when one of ``(D,)`` / ``(D, 1, 1)`` for the module's first
    layer works, which shape the module accepts.

    Parameters
    ----------
    obj
        An ``nn.Module`` or the path of a TorchScript file (``torch.jit.save``).
    latent_shape
        Shape of one latent, without the batch axis.
    **kwargs
        Passed to :class:`Generator` (``latent_layer="0"`` names the layer SeFa reads).

    Raises
    ------
    ModelFileError
        No such file, or not a TorchScript file.
    ShapeError
        The TorchScript module does not take latents of ``latent_shape`` or does not return
        ``(N, C, H, W)`` images.

    Examples
    --------
    >>> g = wrap_generator("my_decoder.pt", latent_shape=32)  # doctest: +SKIP
    """
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such TorchScript file")
        device = pick_device(kwargs.get("device"))
        try:
            module = torch.jit.load(str(path), map_location=device)
        except Exception as exc:  # torch raises RuntimeError with C++ text
            raise ModelFileError(f"{path}: not a TorchScript file ({exc.__class__.__name__})") from exc
        kwargs.setdefault("name", path.stem)
        g = Generator(module, latent_shape, **kwargs)
        g.config["image_shape"] = check_latent_shape(g.module, g.latent_shape, g.device, path.name)
        return g
    if not isinstance(obj, nn.Module) and not callable(obj):
        raise TypeError(f"cannot wrap {type(obj).__name__} as a generator")
    return Generator(obj, latent_shape, **kwargs)


def _try_forward(module: nn.Module, shape: tuple[int, ...], device: torch.device) -> torch.Tensor | str:
    """The module's output for one zero latent of ``shape``, or the first line of its error."""
    try:
        with torch.inference_mode():
            return module(torch.zeros((1, *shape), device=device))
    except Exception as exc:  # TorchScript raises RuntimeError with C++/TorchScript text
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return (lines[-1] if lines else type(exc).__name__)[:200]


def _candidate_shapes(module: nn.Module) -> list[tuple[int, ...]]:
    """Latent shapes the module's first Linear / (transposed) convolution would take."""
    for sub in module.modules():
        kind = layer_kind(sub)
        if kind is not None:
            d = layer_inputs(sub, kind)
            return [(d,), (d, 1, 1)] if kind == "Linear" else [(d, 1, 1), (d,)]
    return []


def check_latent_shape(
    module: nn.Module, latent_shape: tuple[int, ...], device: torch.device, name: str = "generator"
) -> tuple[int, int, int]:
    """Run one zero latent through ``module``; the ``(C, H, W)`` of its image.

    Raises
    ------
    ShapeError
        Saying the shape tried and the module's own message; with the shape the module
        accepts when one of :func:`_candidate_shapes` works.
    """
    out = _try_forward(module, latent_shape, device)
    tried = f"(N, {', '.join(map(str, latent_shape))})"
    if isinstance(out, str):
        hint = "; check latent_shape="
        for shape in _candidate_shapes(module):
            if shape != tuple(latent_shape) and not isinstance(_try_forward(module, shape, device), str):
                arg = shape[0] if len(shape) == 1 else shape
                accepts = ", ".join(map(str, shape))
                hint = f"; it accepts latents of shape (N, {accepts}): pass latent_shape={arg}"
                break
        raise ShapeError(
            f"{name} does not take latents of shape {tried} (latent_shape={latent_shape}): {out}{hint}"
        )
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ShapeError(f"{name} maps latents {tried} to {got}; a generator must return (N, C, H, W) images")
    return tuple(int(s) for s in out.shape[1:])
