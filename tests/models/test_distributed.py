"""Multi-process training (DDP, gloo on loopback, spawned processes): two processes take the
steps one process takes on the same global batch, rank 0 alone writes, and both resume from
its checkpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from latentviz.cli import main
from latentviz.models.io import load_model
from latentviz.models.training import TrainConfig, fit
from latentviz.models.training.distributed import World, launch

pytestmark = pytest.mark.slow


def _cfg(kind: str, data: Path, out: Path, steps: int, **kw) -> TrainConfig:
    return TrainConfig(
        kind=kind,
        data=str(data),
        out=out,
        size=16,
        steps=steps,
        batch_size=8,
        width=8,
        latent_dim=6,
        progress=False,
        early_step=0,
        sample_every=1000,
        checkpoint_every=2,
        **kw,
    )


def _curve(out: Path) -> tuple[list[int], np.ndarray]:
    with open(out / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r.pop("step")) for r in rows]
    return steps, np.array([[float(v) for v in r.values()] for r in rows])


def test_two_processes_follow_one_process_and_resume_from_rank0(tiny_data: Path, tmp_path: Path) -> None:
    single = fit(_cfg("vae", tiny_data, tmp_path / "one", steps=4))
    first = launch(_cfg("vae", tiny_data, tmp_path / "two", steps=2), nproc=2, threads=1)
    assert first["steps"] == 2 and (tmp_path / "two" / "checkpoint.pt").is_file()
    resumed = launch(_cfg("vae", tiny_data, tmp_path / "two", steps=4, resume=True), nproc=2, threads=1)

    steps_one, one = _curve(tmp_path / "one")
    steps_two, two = _curve(tmp_path / "two")
    assert steps_one == steps_two == [1, 2, 3, 4]  # rank 0 alone logged, once per step
    assert one[:, 0].std() > 0  # the loss moves, so matching it means something
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5)
    for key, value in single["last_losses"].items():
        assert resumed["last_losses"][key] == pytest.approx(value, rel=1e-4, abs=1e-5)
    # Same function: compare outputs, not weights. Biases right before a GroupNorm get only
    # rounding noise as gradient, which Adam turns into lr-sized steps of either sign.
    one_vae, two_vae = load_model(single["model"])[0].eval(), load_model(resumed["model"])[0].eval()
    z = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(two_vae.decode(z), one_vae.decode(z), rtol=1e-3, atol=1e-4)
        x = one_vae.decode(z)
        torch.testing.assert_close(two_vae.encode(x), one_vae.encode(x), rtol=1e-3, atol=1e-4)


def test_a_gan_trains_under_ddp_from_the_cli(tiny_data: Path, tmp_path: Path, capsys) -> None:
    """G and D both wrapped; D runs twice per step (real, fake) and once in G's step. G has
    BatchNorm, which on CPU normalises per rank, so the curve is checked for shape, not value."""
    argv = ["train", "gan", "--data", str(tiny_data), "--out", str(tmp_path), "--size", "16", "--steps", "2",
            "--batch-size", "8", "--width", "8", "--latent-dim", "6", "--early-step", "0", "--no-progress",
            "--nproc", "2"]  # fmt: skip
    assert main(argv) == 0
    assert "trained gan for 2 steps" in capsys.readouterr().out
    steps, losses = _curve(tmp_path)
    assert steps == [1, 2] and np.isfinite(losses).all()
    module, config = load_model(tmp_path / "model")
    assert config["steps"] == 2 and config["kind"] == "gan"
    with torch.no_grad():
        assert torch.isfinite(module.eval()(torch.randn(2, 6))).all()


def test_the_global_batch_must_split_evenly() -> None:
    assert World(1, 2).shard(8) == slice(4, 8)
    with pytest.raises(ValueError, match="divisible"):
        launch(TrainConfig(kind="vae", data="cxr", out=Path("unused"), batch_size=9), nproc=2)


def test_a_gaan_trains_in_two_processes_in_sync(tiny_data: Path, tmp_path: Path, capsys) -> None:
    """The style trainers average each optimiser's gradients over the ranks (no DDP wrapper:
    they call G's submodules and take R1 / path-length double backwards); the end-of-run
    check raises if any parameter differs between the ranks."""
    argv = ["train", "gaan", "--data", str(tiny_data), "--out", str(tmp_path), "--size", "16", "--steps", "3",
            "--batch-size", "8", "--width", "8", "--latent-dim", "8", "--encoder", "w+", "--early-step", "0",
            "--no-progress", "--nproc", "2"]  # fmt: skip
    assert main(argv) == 0
    assert "trained gaan for 3 steps" in capsys.readouterr().out
    steps, losses = _curve(tmp_path)
    assert steps == [1, 2, 3] and np.isfinite(losses).all()
    module, config = load_model(tmp_path / "model")
    assert config["kind"] == "gaan"
    with torch.no_grad():
        assert torch.isfinite(module.eval()(torch.randn(2, 8))).all()


def _sync_worker(rank: int, port: int, perturb: bool, out) -> None:
    import os

    import torch.distributed as dist

    from latentviz.models.training.distributed import (
        RanksDivergedError,
        average_gradients,
        check_in_sync,
        current_world,
    )

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        world = current_world()
        torch.manual_seed(0)
        m = torch.nn.Linear(3, 2)
        m.weight.grad = torch.full_like(m.weight, float(rank + 1))  # 1 on rank 0, 2 on rank 1
        average_gradients(m.parameters(), world)
        ok = bool(torch.all(m.weight.grad == 1.5))
        if perturb and rank == 1:
            with torch.no_grad():
                m.bias.add_(1e-3)
        try:
            check_in_sync(m, world)
            diverged = False
        except RanksDivergedError:
            diverged = True
        out.put((rank, ok, diverged))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("perturb", [False, True])
def test_gradients_are_averaged_and_a_divergence_is_caught(perturb: bool) -> None:
    import torch.multiprocessing as mp

    from latentviz.models.training.distributed import _free_port

    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.spawn(_sync_worker, args=(_free_port(), perturb, out), nprocs=2, join=True)
    results = sorted(out.get() for _ in range(2))
    assert [ok for _, ok, _ in results] == [True, True]  # (1 + 2) / 2 on both ranks
    assert [d for _, _, d in results] == [perturb, perturb]  # both ranks see the divergence
