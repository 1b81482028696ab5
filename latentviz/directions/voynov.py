"""Voynov & Babenko (ICML 2020): learn K directions a reconstructor can tell apart.

A direction matrix ``A`` (D × K) and a reconstructor ``R`` are trained jointly, the
generator ``G`` frozen. For ``z ~ N(0, I)``, ``k ~ U{0..K-1}`` and ``ε = 6·U(−1, 1)`` with
``|ε| ≥ 0.5``, ``R`` sees ``(G(z), G(z + ε A e_k))`` and predicts ``k`` (cross-entropy)
and ``ε`` (L1, weight 0.25) — paper eq. 1 and the settings of Schön et al. (2022).

Variants of ``A``: ``"linear"`` (free matrix), ``"proj"`` (unit columns) and ``"ortho"``
(``exp(S − Sᵀ)``, orthogonal, K = D). K may exceed D except for ``"ortho"``.

The reconstructor classification accuracy (RCA) on held-out pairs is the score; the same
reconstructor trained with ``A`` frozen to random unit directions or to the coordinate
axes gives the baselines (:func:`voynov` reports all three).

Training is resumable: every ``checkpoint_every`` steps the state (A, R, Adam moments,
step, loss history) goes to a safetensors file; each step's randomness is seeded from
``(seed, step)``, so a resumed run continues exactly where an uninterrupted one would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from latentviz.bounds import Bound
from latentviz.directions.direction_set import DirectionSet
from latentviz.directions.reconstructors import make_reconstructor
from latentviz.directions.registry import (
    SEED,
    DirectionMethod,
    DiscoveryInputs,
    MethodOptions,
    option,
    register_method,
)
from latentviz.errors import ArgumentError, ModelFileError
from latentviz.models.device import to_device_async

__all__ = ["DirectionMatrix", "Voynov", "VoynovResult", "resolve_precision", "train_voynov", "voynov"]

VARIANTS = ("linear", "proj", "ortho")
PRECISIONS = ("auto", "fp32", "bf16")


def _bf16_fast(device: torch.device) -> bool:
    """Whether bfloat16 convolutions run natively (CUDA, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``"fp32"`` or ``"bf16"`` for ``precision`` on ``device``.

    ``"auto"`` picks bf16 mixed precision where the hardware runs it natively and fp32
    elsewhere; asking for ``"bf16"`` where it would be emulated (slowly) is an error.
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ArgumentError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bf16" if _bf16_fast(device) else "fp32"
    if precision == "bf16" and not _bf16_fast(device):
        raise ArgumentError(f"bf16 is not native on {device} here; use precision='fp32'")
    return precision


@contextmanager
def _channels_last(*modules) -> Iterator[None]:
    """Run convolutions in channels-last layout (faster with oneDNN), then restore."""
    mods = [m for m in modules if isinstance(m, nn.Module)]
    for m in mods:
        m.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        for m in mods:
            m.to(memory_format=torch.contiguous_format)


class DirectionMatrix(nn.Module):
    """The learnable ``A`` (D × K); ``forward(k, ε)`` returns the latent shifts ``ε A e_k``.

    Parameters
    ----------
    dim, k
        Latent size D and number of directions K.
    variant
        ``"linear"``, ``"proj"`` or ``"ortho"`` (then ``k`` must equal ``dim``).
    fixed
        ``"random"`` or ``"axes"`` freezes ``A`` (baselines); ``None`` trains it.
    """

    def __init__(self, dim: int, k: int, variant: str = "proj", fixed: str | None = None, seed: int = 0):
        super().__init__()
        if variant not in VARIANTS:
            raise ArgumentError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if variant == "ortho" and k != dim:
            raise ArgumentError(f"the orthogonal variant needs K = latent size ({dim}), got K = {k}")
        if fixed == "axes" and k > dim:
            raise ArgumentError(f"only {dim} coordinate axes exist; got K = {k}")
        self.variant, self.fixed, self.dim, self.k = variant, fixed, dim, k
        g = torch.Generator().manual_seed(seed)
        if fixed is not None:
            a = torch.eye(dim)[:, :k] if fixed == "axes" else torch.randn(dim, k, generator=g)
            self.register_buffer("weight", a / a.norm(dim=0, keepdim=True))
        elif variant == "ortho":
            self.weight = nn.Parameter(0.001 * torch.randn(dim, dim, generator=g))  # log of A, A ≈ I
        else:
            a = torch.randn(dim, k, generator=g)
            self.weight = nn.Parameter(a / a.norm(dim=0, keepdim=True))

    def matrix(self) -> torch.Tensor:
        """``A`` as a (D, K) tensor."""
        if self.fixed is not None or self.variant == "linear":
            return self.weight
        if self.variant == "proj":
            return self.weight / self.weight.norm(dim=0, keepdim=True).clamp_min(1e-8)
        return torch.linalg.matrix_exp(self.weight - self.weight.T)

    def forward(self, index: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        return self.matrix().T[index] * shift[:, None]


@dataclass
class VoynovResult:
    """Outcome of :func:`train_voynov`.

    Attributes
    ----------
    matrix
        The trained ``A`` (D, K) as numpy.
    rca
        Held-out reconstructor classification accuracy (chance = 1/K).
    shift_error
        Held-out mean |ε̂ − ε|.
    per_direction
        Held-out recall of each direction (K,).
    history
        Per-step ``loss``, ``ce``, ``l1`` and batch ``accuracy``.
    steps
        Steps trained in total (including resumed ones).
    seconds
        Training wall time of this call (resumed steps excluded).
    """

    matrix: np.ndarray
    rca: float
    shift_error: float
    per_direction: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0


def _batch(
    step: int, seed: int, n: int, dim: int, k: int, scale: float, min_shift: float, shifts_per_base: int = 1
):
    """One step's draws: ``ceil(n / shifts_per_base)`` base latents and ``n`` (k, ε) shifts.

    With ``shifts_per_base = 1`` (the paper's sampling) every pair has its own base; the
    draws are then the same numbers as before the option existed.
    """
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
    z = torch.randn(-(-n // shifts_per_base), dim, generator=g)
    index = torch.randint(k, (n,), generator=g)
    eps = (2 * torch.rand(n, generator=g) - 1) * scale
    sign = torch.where(eps < 0, -1.0, 1.0)
    eps = torch.where(eps.abs() < min_shift, sign * min_shift, eps)  # |ε| ≥ 0.5
    return z, index, eps


def _amp(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def _pair(generator, a: DirectionMatrix, z, index, eps, grad: bool, precision: str = "fp32"):
    # The draws are made on the CPU (the same numbers on every device, so a run is
    # reproducible across machines) and copied without a sync; the generator skips its
    # finiteness check (these latents are ours), which would read back every call.
    dev = generator.device
    z, index, eps = (to_device_async(t, dev) for t in (z, index, eps))
    forward = getattr(generator, "forward_trusted", generator)
    with torch.no_grad(), _amp(dev, precision):
        x0 = forward(z)
    n = index.shape[0]
    if z.shape[0] != n:  # several shifts per base: one base forward serves them all
        m = -(-n // z.shape[0])
        z, x0 = z.repeat_interleave(m, 0)[:n], x0.repeat_interleave(m, 0)[:n]
    shifted = z + a(index, eps)  # the shift itself stays in fp32
    with torch.set_grad_enabled(grad), _amp(dev, precision):
        x1 = forward(shifted)
    return x0, x1, index, eps


def _flush(pending: list[torch.Tensor], history: dict[str, list[float]]) -> None:
    """Move the steps' (loss, ce, l1, accuracy) rows from the device into ``history``."""
    if not pending:
        return
    rows = torch.stack(pending).cpu().tolist()
    pending.clear()
    for row in rows:
        for key, v in zip(("loss", "ce", "l1", "accuracy"), row, strict=True):
            history[key].append(v)


def _save(path: Path, a, r, opt, step: int, history: dict, config: dict) -> None:
    from safetensors.torch import save_file

    tensors = {f"A.{k}": v for k, v in a.state_dict().items()}
    tensors |= {f"R.{k}": v for k, v in r.state_dict().items()}
    for i, p in enumerate(q for grp in opt.param_groups for q in grp["params"]):
        for key, v in opt.state.get(p, {}).items():
            tensors[f"opt.{i}.{key}"] = torch.as_tensor(v).reshape(-1) if key == "step" else v
    tensors |= {f"hist.{k}": torch.tensor(v, dtype=torch.float64) for k, v in history.items()}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"step": str(step), "config": json.dumps(config, sort_keys=True)})
    tmp.replace(path)


def _load(path: Path, a, r, opt, config: dict) -> tuple[int, dict]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ModelFileError(f"{path}: not a Voynov checkpoint ({exc.__class__.__name__})") from exc
    saved = json.loads(meta.get("config", "{}"))
    diff = {k for k in set(saved) | set(config) if k != "steps" and saved.get(k) != config.get(k)}
    if diff:
        raise ModelFileError(
            f"{path}: checkpoint was made with other settings ({sorted(diff)}); use a new file"
        )
    a.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("A.")})
    r.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("R.")})
    for i, p in enumerate(q for grp in opt.param_groups for q in grp["params"]):
        state = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if state:
            state["step"] = state["step"].reshape(())
            opt.state[p] = state
    history = {k[5:]: v.tolist() for k, v in tensors.items() if k.startswith("hist.")}
    return int(meta["step"]), history


def evaluate_rca(
    generator,
    a: DirectionMatrix,
    r: nn.Module,
    n: int = 512,
    batch_size: int = 128,
    seed: int = 10**6,
    precision: str = "fp32",
    **shift,
) -> tuple[float, float, np.ndarray]:
    """Held-out RCA, mean |ε̂ − ε| and per-direction recall on ``n`` fresh pairs.

    The pairs' seeds are disjoint from the training steps'. ``precision`` is ``"fp32"``
    or ``"bf16"`` (mixed precision, as resolved by :func:`resolve_precision`).
    """
    r.eval()
    hits, err = 0.0, 0.0
    per_hit, per_n = torch.zeros(a.k), torch.zeros(a.k)
    with torch.no_grad():
        for i in range(0, n, batch_size):
            m = min(batch_size, n - i)
            x0, x1, idx, eps = _pair(generator, a, *_batch(i, seed, m, a.dim, a.k, **shift), False, precision)
            with _amp(x0.device, precision):
                logits, eps_hat = r(x0, x1)
            logits, eps_hat = logits.float(), eps_hat.float()
            right = (logits.argmax(1) == idx).float().cpu()
            hits += right.sum().item()
            err += (eps_hat - eps).abs().sum().item()
            per_hit.index_add_(0, idx.cpu(), right)
            per_n.index_add_(0, idx.cpu(), torch.ones_like(right))
    r.train()
    return hits / n, err / n, (per_hit / per_n.clamp_min(1)).numpy().astype(float)


def train_voynov(
    generator,
    k: int | None = None,
    variant: str = "proj",
    reconstructor: str = "lenet",
    steps: int = 3000,
    batch_size: int = 128,
    lr: float = 1e-4,
    shift_scale: float = 6.0,
    min_shift: float = 0.5,
    shift_weight: float = 0.25,
    seed: int = 0,
    fixed: str | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 250,
    n_eval: int = 512,
    precision: str = "auto",
    shifts_per_base: int = 1,
    progress: bool = True,
) -> VoynovResult:
    """Train ``A`` and a reconstructor on a frozen generator (see the module docstring).

    Parameters
    ----------
    generator
        A :class:`latentviz.models.Generator` with a flat latent.
    k
        Number of directions (default: the latent size).
    variant
        ``"linear"``, ``"proj"`` or ``"ortho"``.
    reconstructor
        ``"lenet"`` (Schön et al.) or ``"resnet"``.
    steps, batch_size, lr
        Schön et al.: 3000 steps, batch 128, Adam lr 1e-4.
    shift_scale, min_shift, shift_weight
        ``ε = shift_scale·U(−1, 1)``, ``|ε| ≥ min_shift``; loss ``CE + shift_weight·L1``.
    fixed
        ``"random"`` / ``"axes"``: freeze ``A`` (the RCA baselines).
    checkpoint
        A ``.safetensors`` path; an existing file is resumed from.
    n_eval
        Held-out pairs for the final RCA.
    precision
        ``"auto"`` (bf16 mixed precision where native, else fp32), ``"fp32"`` or
        ``"bf16"``. ``A``, the optimiser and the losses stay fp32 either way; bf16
        runs the generator and reconstructor, in channels-last layout, about 3× faster
        on an AVX512-BF16 CPU.
    shifts_per_base
        Shifted images per base latent ``z``. 1 is the paper's sampling (every pair its own
        ``z``); ``m > 1`` draws ``batch_size / m`` bases, each shifted along ``m`` random
        (k, ε), so one base forward serves ``m`` pairs. Held-out RCA always uses 1.
    """
    import time

    dim = int(generator.latent_dim)
    k = dim if k is None else int(k)
    channels = int(generator.image_shape[0])
    precision = resolve_precision(precision, generator.device)
    shifts_per_base = int(shifts_per_base)
    if not 1 <= shifts_per_base <= batch_size:
        raise ArgumentError(
            f"shifts_per_base must be between 1 and the batch size {batch_size}, not {shifts_per_base}"
        )
    config = {
        "model_sha256": str(generator.sha256),
        "k": k,
        "variant": variant,
        "reconstructor": reconstructor,
        "batch_size": batch_size,
        "lr": lr,
        "shift_scale": shift_scale,
        "min_shift": min_shift,
        "shift_weight": shift_weight,
        "seed": seed,
        "fixed": fixed,
        "steps": steps,
        "precision": precision,
    }
    if shifts_per_base != 1:  # absent for the paper's sampling, so older checkpoints still resume
        config["shifts_per_base"] = shifts_per_base
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        a = DirectionMatrix(dim, k, variant, fixed, seed).to(generator.device)
        r = make_reconstructor(reconstructor, k, channels).to(generator.device)
    groups = [{"params": list(r.parameters())}]
    if fixed is None:
        groups.insert(0, {"params": list(a.parameters())})
    opt = torch.optim.Adam(groups, lr=lr)
    history: dict[str, list[float]] = {"loss": [], "ce": [], "l1": [], "accuracy": []}
    start = 0
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.is_file():
        start, history = _load(path, a, r, opt, config)
    shift = {"scale": shift_scale, "min_shift": min_shift}
    train_shift = shift | {"shifts_per_base": shifts_per_base}
    t0 = time.perf_counter()
    r.train()
    bar = tqdm(
        range(start, steps),
        desc=f"voynov {variant}" + (f" ({fixed} A)" if fixed else ""),
        disable=not progress,
        initial=start,
        total=steps,
    )
    module = getattr(generator, "module", None)
    layout = _channels_last(module, r) if precision == "bf16" else nullcontext()
    pending: list[torch.Tensor] = []
    with layout:
        for step in bar:
            x0, x1, idx, eps = _pair(
                generator,
                a,
                *_batch(step, seed, batch_size, dim, k, **train_shift),
                fixed is None,
                precision,
            )
            with _amp(x0.device, precision):
                logits, eps_hat = r(x0, x1)
            logits, eps_hat = logits.float(), eps_hat.float()
            ce = F.cross_entropy(logits, idx)
            l1 = (eps_hat - eps).abs().mean()
            loss = ce + shift_weight * l1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            acc = (logits.argmax(1) == idx).float().mean()
            # The step's numbers stay on the device; they are read back in blocks (for the
            # progress bar, a checkpoint and the end), not four times a step.
            pending.append(torch.stack([loss.detach(), ce.detach(), l1.detach(), acc]))
            last = step + 1 == steps
            save = path is not None and ((step + 1) % checkpoint_every == 0 or last)
            if save or last or (progress and step % 20 == 0):
                _flush(pending, history)
            if progress and step % 20 == 0:
                acc50 = np.mean(history["accuracy"][-50:])
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", acc=f"{acc50:.2f}")
            if save:
                _save(path, a, r, opt, step + 1, history, config)
        _flush(pending, history)
        seconds = time.perf_counter() - t0
        rca, err, per_direction = evaluate_rca(
            generator, a, r, n_eval, batch_size, precision=precision, **shift
        )
    with torch.no_grad():
        matrix = a.matrix().detach().cpu().double().numpy()
    return VoynovResult(matrix, rca, err, per_direction, history, steps, seconds)


def voynov(
    generator,
    k: int | None = None,
    variant: str = "proj",
    steps: int = 3000,
    baselines: bool = True,
    baseline_steps: int | None = None,
    checkpoint: str | Path | None = None,
    latent_source: str = "prior",
    **options,
) -> DirectionSet:
    """Voynov–Babenko directions as a :class:`DirectionSet`, with RCA and its baselines.

    ``params`` holds ``rca``, ``chance`` (1/K) and, with ``baselines=True``,
    ``rca_random`` (A frozen to K random unit directions) and ``rca_axes`` (A frozen to the
    coordinate axes, K = min(K, D); its own chance in ``chance_axes``), each trained for
    ``baseline_steps`` (default ``steps``) with the same reconstructor and settings.
    ``scores`` are the per-direction held-out accuracies (recall of each class).

    Other keyword options go to :func:`train_voynov`.
    """
    res = train_voynov(generator, k, variant, steps=steps, checkpoint=checkpoint, **options)
    kk = res.matrix.shape[1]
    params = {
        "variant": variant,
        "steps": res.steps,
        "rca": res.rca,
        "chance": 1.0 / kk,
        "shift_error": res.shift_error,
        "train_seconds": res.seconds,
        "latent_source": latent_source,
        "final_loss": float(np.mean(res.history["loss"][-50:])) if res.history["loss"] else None,
        "precision": resolve_precision(options.get("precision", "auto"), generator.device),
        **{
            key: v
            for key, v in options.items()
            if key in ("reconstructor", "batch_size", "lr", "seed", "shifts_per_base")
        },
    }
    if baselines:
        bsteps = steps if baseline_steps is None else baseline_steps
        opts = {key: v for key, v in options.items() if key != "checkpoint"}
        rand = train_voynov(generator, kk, "proj", steps=bsteps, fixed="random", **opts)
        axes_k = min(kk, int(generator.latent_dim))
        axes = train_voynov(generator, axes_k, "proj", steps=bsteps, fixed="axes", **opts)
        params |= {
            "rca_random": rand.rca,
            "rca_axes": axes.rca,
            "chance_axes": 1.0 / axes_k,
            "baseline_steps": bsteps,
        }
    sigmas = np.linalg.norm(res.matrix, axis=0)
    return DirectionSet(
        res.matrix.T,
        [f"voynov {i}" for i in range(kk)],
        res.per_direction,
        "voynov",
        params,
        str(generator.sha256),
        str(generator.latent_space),
        sigmas,
    )


@register_method
class Voynov(DirectionMethod):
    """Voynov & Babenko (2020): a direction matrix and a reconstructor trained jointly."""

    name = "voynov"
    label = "Voynov–Babenko (2020)"
    order = 30
    summary = "unsupervised: train K directions so a reconstructor can tell which one moved an image"
    interactive = True
    quick = MappingProxyType({"steps": 300, "baselines": False})

    @dataclass
    class Options(MethodOptions):
        k: int | None = option(
            None, "directions", "directions K (None: the latent size D)", bound=Bound(1, 4096)
        )
        variant: str = option("proj", "matrix", "direction matrix", choices=("linear", "proj", "ortho"))
        steps: int = option(3000, "steps", "training steps", bound=Bound(1, 1_000_000))
        baselines: bool = option(True, "baselines", "also train the random/axes RCA baselines")
        baseline_steps: int | None = option(
            None, "baseline steps", "steps of the RCA baselines (None: steps)", bound=Bound(1, 1_000_000)
        )
        checkpoint: str | None = option(None, "checkpoint", "resumable safetensors checkpoint file")
        reconstructor: str = option("lenet", "reconstructor", "reconstructor", choices=("lenet", "resnet"))
        batch_size: int = option(128, "batch", "batch size", bound=Bound(1, 65_536))
        lr: float = option(1e-4, "lr", "Adam learning rate", interval=(1e-8, 1.0))
        precision: str = option(
            "auto", "precision", "bf16 mixed precision where native (auto), or fp32", choices=PRECISIONS
        )
        seed: int = option(0, "seed", "seed of the training", bound=SEED)
        shifts_per_base: int = option(
            1,
            "shifts per base",
            "shifted images per base latent, sharing one base forward (1: the paper's sampling)",
            bound=Bound(1, 1024),
        )

    def evaluation_options(self, generator: object, k: int) -> dict:
        # The RCA of Voynov & Babenko is reported for K = D (chance 1/K): keep every direction.
        return {}

    def run(self, generator: object, options: Options, inputs: DiscoveryInputs) -> DirectionSet:
        return voynov(
            generator,
            options.k,
            options.variant,
            steps=options.steps,
            baselines=options.baselines,
            baseline_steps=options.baseline_steps,
            checkpoint=options.checkpoint,
            reconstructor=options.reconstructor,
            batch_size=options.batch_size,
            lr=options.lr,
            seed=options.seed,
            precision=options.precision,
            shifts_per_base=options.shifts_per_base,
            progress=inputs.progress,
        )
