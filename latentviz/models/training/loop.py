"""The one training loop all recipes share; each kind supplies a :class:`Trainer`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from latentviz import __version__
from latentviz.errors import ArgumentError
from latentviz.models.device import pick_device
from latentviz.models.io import save_model
from latentviz.models.training.common import (
    BatchSampler,
    LossLog,
    TrainConfig,
    TrainingData,
    describe_device,
    load_checkpoint,
    load_training_data,
    save_checkpoint,
    save_grid,
)
from latentviz.models.training.distributed import (
    World,
    barrier,
    current_world,
    mean_over_ranks,
    setup_world,
    teardown_world,
    wrap_for_training,
)

__all__ = ["Trainer", "fit"]


class Trainer:
    """One kind of training: builds its modules and optimizers, and takes one step.

    Subclasses set ``kind``, ``architecture``, ``loss_names`` and ``default_lr`` and
    implement :meth:`step`, :meth:`samples` and :meth:`export`; :meth:`stateful` lists
    what a checkpoint holds.
    """

    kind: str = ""
    architecture: str = ""
    loss_names: tuple[str, ...] = ()
    default_lr: float = 2e-4
    needs_labels: bool = False
    grid_columns: int = 8

    def __init__(self, cfg: TrainConfig, data: TrainingData, device: torch.device) -> None:
        self.cfg = cfg
        self.data = data
        self.device = device
        self.lr = cfg.lr if cfg.lr is not None else self.default_lr
        self.step_index = 0
        self.world = current_world()
        self.shard = self.world.shard(cfg.batch_size)
        if self.needs_labels and not data.has_labels:
            raise ArgumentError(f"a {self.kind} run needs labelled data; {data.source} has no labels")

    def parallel(self, module: nn.Module) -> nn.Module:
        """What :meth:`step` calls to train ``module``: itself, or its DDP wrapper when several
        processes train (it shares the parameters; checkpoint and export ``module``)."""
        return wrap_for_training(module, self.world, self.device)

    def noise(self, draw, *shape: int) -> torch.Tensor:
        """Per-image random numbers ``draw(batch_size, *shape)`` for this process's slice of the
        global batch. They are drawn for the whole global batch (every rank keeps the same RNG
        stream) and sliced, so N processes use exactly the numbers one process would."""
        return draw(self.cfg.batch_size, *shape, device=self.device)[self.shard]

    def stateful(self) -> dict[str, nn.Module | torch.optim.Optimizer]:
        """Modules and optimizers to checkpoint, by name."""
        raise NotImplementedError

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns the losses named in ``loss_names``."""
        raise NotImplementedError

    def samples(self) -> torch.Tensor:
        """A fixed batch of images ``(N, 1, S, S)`` to tile into the PNG grid."""
        raise NotImplementedError

    def export(self) -> tuple[nn.Module, dict]:
        """The model to ship and its config (``architecture``, ``kwargs``, …)."""
        raise NotImplementedError


def _trainers() -> dict[str, type[Trainer]]:
    from latentviz.models.training.classifier import ClassifierTrainer
    from latentviz.models.training.gan import GANTrainer
    from latentviz.models.training.medxgan import MedXGANTrainer
    from latentviz.models.training.vae import VAETrainer

    return {t.kind: t for t in (ClassifierTrainer, GANTrainer, VAETrainer, MedXGANTrainer)}


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
    trainers = _trainers()
    if cfg.kind not in trainers:
        raise ArgumentError(f"unknown training kind {cfg.kind!r}; choose from {sorted(trainers)}")
    world, device, own_group = setup_world(pick_device(cfg.device))
    try:
        return _train(cfg, trainers[cfg.kind], world, device)
    finally:
        if own_group:
            teardown_world()


def _train(cfg: TrainConfig, trainer_class: type[Trainer], world: World, device: torch.device) -> dict:
    main = world.is_main
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    data = load_training_data(cfg.data, cfg.size, cfg.n_train, cfg.seed)
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
    return save_model(module, config, path)


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
