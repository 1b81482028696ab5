"""Multi-process training with ``torch.distributed`` (DDP): gloo on CPU, nccl on GPU.

Every rank builds the same models from the same seed, draws the same global batch of indices
(and the same per-image noise) and trains on its own slice of it; DDP averages the gradients,
so N ranks take the step one process would take on the whole global batch. Rank 0 alone
writes checkpoints, losses, sample grids and weights; every rank resumes from rank 0's
checkpoint.

Two ways in: ``latentviz train ... --nproc N`` spawns N processes on this machine
(:func:`launch`, loopback rendezvous), and ``torchrun --nproc-per-node N -m latentviz train ...``
(or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``) is
detected by :func:`fit`.

BatchNorm: on GPU its statistics are synchronised across ranks (``SyncBatchNorm``); torch has
no CPU SyncBatchNorm, so on CPU each rank normalises its own slice (close to, not equal to,
one process; models without BatchNorm, such as the VAE, match one process exactly).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from latentviz.errors import ArgumentError, LatentvizError

__all__ = [
    "RanksDivergedError",
    "World",
    "average_gradients",
    "barrier",
    "check_in_sync",
    "current_world",
    "launch",
    "mean_over_ranks",
    "mean_tensor_over_ranks",
    "setup_world",
    "teardown_world",
    "wrap_for_training",
]


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    def shard(self, global_batch: int) -> slice:
        """This rank's rows of a global batch (contiguous, equal slices)."""
        if global_batch % self.size:
            raise ArgumentError(
                f"--batch-size {global_batch} must be divisible by the {self.size} training processes"
            )
        n = global_batch // self.size
        return slice(self.rank * n, (self.rank + 1) * n)


def current_world() -> World:
    """The initialised process group's world, or a single process."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return World(dist.get_rank(), dist.get_world_size(), local)
    return World()


def setup_world(device: torch.device) -> tuple[World, torch.device, bool]:
    """Join the process group the environment describes (``WORLD_SIZE`` > 1), if any.

    Returns the world, the device of this rank (``cuda:LOCAL_RANK`` on GPUs) and whether this
    call created the group (then :func:`fit` destroys it at the end).
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or not dist.is_available():
        return current_world(), device, False
    created = False
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, init_method="env://")
        created = True
    return current_world(), device, created


def wrap_for_training(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    """``module`` itself in one process; else a DDP wrapper (SyncBatchNorm on GPU) that
    shares its parameters, so the unwrapped module stays the one to checkpoint and export."""
    if not world.is_distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return DistributedDataParallel(module, device_ids=[device.index])
    return DistributedDataParallel(module)


def mean_over_ranks(losses: dict[str, float], world: World) -> dict[str, float]:
    """Losses averaged over ranks: each rank's are means over equal slices, so this is the
    mean over the global batch (what rank 0 logs)."""
    if not world.is_distributed or not losses:
        return losses
    backend = dist.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    t = torch.tensor(list(losses.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(losses, (t / world.size).tolist()))


class RanksDivergedError(LatentvizError, RuntimeError):
    """The training processes' parameters differ: their gradients were not all averaged."""


def average_gradients(parameters, world: World) -> None:
    """Average the gradients of ``parameters`` over the ranks, in place (no-op in one process).

    What DDP does for a wrapped module, for models whose training calls submodules directly
    (the style-based trainers call ``G.mapping``, ``G.synthesis`` and ``G.encoder``) or takes
    double-backward penalties (R1, path length). One all-reduce of the flattened gradients.
    """
    if not world.is_distributed:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_tensor_over_ranks(t: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of ``t`` over the ranks (each rank's ``t`` a mean over its equal slice)."""
    if not world.is_distributed:
        return t
    t = t.detach().clone()
    dist.all_reduce(t)
    return t / world.size


def check_in_sync(module: nn.Module, world: World, name: str = "model") -> None:
    """Raise :class:`RanksDivergedError` when ``module``'s parameters differ between ranks.

    One all-reduce of two numbers per rank (a weighted checksum and its negation, so that
    MAX gives both the largest and the smallest value over the ranks).
    """
    if not world.is_distributed:
        return
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])
        w = torch.linspace(1.0, 2.0, len(flat), dtype=torch.float64, device=flat.device)
        c = (flat * w).sum()
        both = torch.stack([c, -c])
        dist.all_reduce(both, op=dist.ReduceOp.MAX)
    hi, lo = float(both[0]), -float(both[1])
    if abs(hi - lo) > 1e-6 * max(1.0, abs(hi)):
        raise RanksDivergedError(
            f"the {world.size} training processes ended with different {name} parameters "
            f"(checksums {lo:.9g} … {hi:.9g}): some gradients were not averaged"
        )


def barrier(world: World) -> None:
    """Wait for every rank (no-op in one process)."""
    if world.is_distributed:
        dist.barrier()


def teardown_world() -> None:
    """Leave the process group :func:`setup_world` created."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawned(rank: int, nproc: int, port: int, cfg, threads: int | None, results) -> None:
    from latentviz.models.training.loop import fit

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(nproc),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    if threads:
        torch.set_num_threads(threads)
    result = fit(cfg)
    if rank == 0:
        results.put(result)


def launch(cfg, nproc: int, threads: int | None = None) -> dict:
    """Train ``cfg`` in ``nproc`` spawned processes on this machine (rendezvous on loopback).

    Parameters
    ----------
    cfg
        The :class:`~latentviz.models.training.TrainConfig`; ``batch_size`` is the global batch.
    nproc
        Processes; on GPUs one per device (rank r uses ``cuda:r``).
    threads
        torch threads per process (default: the CPU cores divided among the processes).

    Returns
    -------
    dict
        Rank 0's result of :func:`~latentviz.models.training.fit`.
    """
    import torch.multiprocessing as mp

    if nproc < 1:
        raise ArgumentError(f"--nproc must be >= 1, got {nproc}")
    World(0, nproc).shard(cfg.batch_size)  # refuse an indivisible batch before spawning
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // nproc)
    results = mp.get_context("spawn").SimpleQueue()
    mp.spawn(_spawned, args=(nproc, _free_port(), cfg, threads, results), nprocs=nproc, join=True)
    return results.get()
