"""The one training loop all recipes share; each kind supplies a :class:`Trainer`.

The loop knows no trainer: :func:`fit` looks ``cfg.kind`` up in the registry of
:mod:`latentviz.models.training.base`. ``Trainer`` is re-exported here for older imports.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from latentviz import __version__
from latentviz.models.device import pick_device
from latentviz.models.io import save_model
from latentviz.models.training.base import Trainer, trainer_for
from latentviz.models.training.common import (
    BatchSampler,
    LossLog,
    TrainConfig,
    describe_device,
    load_checkpoint,
    load_training_data,
    save_checkpoint,
    save_grid,
)
from latentviz.models.training.distributed import (
    World,
    barrier,
    check_in_sync,
    mean_over_ranks,
    setup_world,
    teardown_world,
)

__all__ = ["Trainer", "fit"]


def fit(cfg: TrainConfig) -> dict:
    """Train one model as ``cfg`` says; resume from ``cfg.out/checkpoint.pt`` if asked.

    Writes ``losses.csv``, ``samples/step_*.png``, ``checkpoint.pt``, ``early.*`` (the weak
    baseline) and ``model.safetensors`` + ``model.json`` under ``cfg.out``. Under a
    multi-process launch (``WORLD_SIZE`` > 1, see :mod:`~latentviz.models.training.distributed`)
    every rank trains on its slice of each global batch and rank 0 alone writes.

    Returns
    -------
    dict
        ``steps``, ``train_seconds`` (over all resumed parts), ``model`` (the weights path)
        and ``last_losses`` (means over the global batch).
    """
    trainer_class = trainer_for(cfg.kind)
    world, device, own_group = setup_world(pick_device(cfg.device))
    try:
        return _train(cfg, trainer_class, world, device)
    finally:
        if own_group:
            teardown_world()


def _train(cfg: TrainConfig, trainer_class: type[Trainer], world: World, device: torch.device) -> dict:
    main = world.is_main
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    data = load_training_data(cfg.data, cfg.size, cfg.n_train, cfg.seed, cfg.channels, cfg.window)
    data.images, data.labels = data.images.to(device), data.labels.to(device)
    trainer = trainer_class(cfg, data, device)
    sampler = BatchSampler(len(data), cfg.batch_size, cfg.seed + 1)
    ckpt_path = cfg.out / "checkpoint.pt"
    start, seconds = 0, 0.0
    if cfg.resume and ckpt_path.is_file():
        start, seconds = _restore(load_checkpoint(ckpt_path), trainer, sampler, device)
    barrier(world)  # every rank has read the checkpoint before rank 0 may overwrite it
    early = cfg.early_step if cfg.early_step is not None else max(1, cfg.steps // 20)
    if main:
        (cfg.out / "config.json").write_text(json.dumps(cfg.to_json(), indent=2) + "\n")
    log = LossLog(cfg.out / "losses.csv", list(trainer.loss_names), append=start > 0) if main else None
    losses: dict[str, float] = {}
    bar = tqdm(
        range(start, cfg.steps),
        initial=start,
        total=cfg.steps,
        disable=not (cfg.progress and main),
        desc=f"train {cfg.kind} on {cfg.data}" + (f" ×{world.size} ranks" if world.is_distributed else ""),
        unit="step",
    )
    t0 = time.perf_counter()
    try:
        for i in bar:
            trainer.step_index = i
            idx = sampler.next()[trainer.shard].to(device)
            losses = mean_over_ranks(trainer.step(data.images[idx], data.labels[idx]), world)
            step = i + 1
            if not main:
                continue
            log.write(step, losses)
            if step % 10 == 0 or step == cfg.steps:
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()})
            if step == early and step < cfg.steps:
                _export(trainer, cfg, cfg.out / "early", step, seconds + time.perf_counter() - t0, device)
            if step % cfg.sample_every == 0 or step == cfg.steps:
                save_grid(
                    trainer.samples(), cfg.out / "samples" / f"step_{step:06d}.png", nrow=trainer.grid_columns
                )
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                _checkpoint(ckpt_path, trainer, sampler, step, seconds + time.perf_counter() - t0, device)
    finally:
        if log is not None:
            log.close()
        bar.close()
    seconds += time.perf_counter() - t0
    for name, part in trainer.stateful().items():  # every rank took the same steps
        if isinstance(part, nn.Module):
            check_in_sync(part, world, name)
    weights = cfg.out / "model.safetensors"
    if main:
        weights = _export(trainer, cfg, cfg.out / "model", cfg.steps, seconds, device)
    barrier(world)  # the weights exist when any rank returns
    return {"steps": cfg.steps, "train_seconds": seconds, "model": weights, "last_losses": losses}


def _export(
    trainer: Trainer, cfg: TrainConfig, path: Path, step: int, seconds: float, device: torch.device
) -> Path:
    module, config = trainer.export()
    config = {
        **config,
        "kind": cfg.kind,
        "data": cfg.data,
        "image_size": cfg.size,
        "steps": step,
        "batch_size": cfg.batch_size,
        "lr": trainer.lr,
        "seed": cfg.seed,
        "train_seconds": round(seconds, 2),
        "device": describe_device(device),
        "latentviz": __version__,
        **cfg.extra,
    }
    if cfg.channels != 1:
        config["channels"] = cfg.channels
    window = _fixed_window(cfg.window)
    if window is not None:  # what the model's [-1, 1] spans, in the files' units
        config["window"] = list(window)
    return save_model(module, config, path)


def _fixed_window(window: tuple[float, float] | str | None) -> tuple[float, float] | None:
    """The window every file was mapped through, or None (each file's own, or percentiles)."""
    if window is None:
        return None
    if isinstance(window, str):
        from latentviz.data.windowing import PRESETS

        return PRESETS.get(window.lower().replace("-", "_").replace(" ", "_"))
    return (float(window[0]), float(window[1]))


def _checkpoint(
    path: Path, trainer: Trainer, sampler: BatchSampler, step: int, seconds: float, device: torch.device
) -> None:
    state = {
        "step": step,
        "seconds": seconds,
        "kind": trainer.kind,
        "rng_cpu": torch.get_rng_state(),
        "sampler": sampler.generator.get_state(),
        "state": {k: v.state_dict() for k, v in trainer.stateful().items()},
    }
    if device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(device)
    save_checkpoint(path, state)


def _restore(state: dict, trainer: Trainer, sampler: BatchSampler, device: torch.device) -> tuple[int, float]:
    from latentviz.errors import ModelFileError

    if state.get("kind") != trainer.kind:
        raise ModelFileError(f"checkpoint is from a {state.get('kind')!r} run, not {trainer.kind!r}")
    for name, obj in trainer.stateful().items():
        if name not in state["state"]:
            raise ModelFileError(f"checkpoint lacks {name!r}")
        obj.load_state_dict(state["state"][name])
    torch.set_rng_state(state["rng_cpu"])
    sampler.generator.set_state(state["sampler"])
    if device.type == "cuda" and "rng_cuda" in state:
        torch.cuda.set_rng_state(state["rng_cuda"], device)
    return int(state["step"]), float(state["seconds"])
