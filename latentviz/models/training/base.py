"""The :class:`Trainer` base class and the registry of trainers by ``kind``.

A trainer registers itself by being defined: :meth:`Trainer.__init_subclass__` records
every subclass that sets its own ``kind`` (as torchio's ``Transform`` records its
subclasses). :func:`~latentviz.models.training.loop.fit` looks the kind up here, so the
loop imports no trainer and no trainer imports the loop. A new kind is one new module
(``class MyTrainer(Trainer): kind = "my-kind"``) plus its import in
``latentviz/models/training/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from latentviz.errors import ArgumentError
from latentviz.models.training.common import TrainConfig, TrainingData
from latentviz.models.training.distributed import current_world, wrap_for_training

__all__ = ["TRAINERS", "Trainer", "trainer_for"]

_REGISTRY: dict[str, type[Trainer]] = {}

#: Every registered trainer by ``kind`` (read-only; defining a subclass adds to it).
TRAINERS: Mapping[str, type[Trainer]] = MappingProxyType(_REGISTRY)


class Trainer:
    """One kind of training: builds its modules and optimizers, and takes one step.

    Subclasses set ``kind``, ``architecture``, ``loss_names`` and ``default_lr`` and
    implement :meth:`step`, :meth:`samples` and :meth:`export`; :meth:`stateful` lists
    what a checkpoint holds. Defining a subclass with its own non-empty ``kind``
    registers it in :data:`TRAINERS`; pass ``register=False`` in the class statement for
    a helper base that should not be listed.
    """

    kind: str = ""
    architecture: str = ""
    loss_names: tuple[str, ...] = ()
    default_lr: float = 2e-4
    needs_labels: bool = False
    grid_columns: int = 8

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind", "")
        if not register or not kind:
            return  # an abstract helper, or a subclass that keeps its parent's kind
        old = _REGISTRY.get(kind)
        # The same class defined again (a module reloaded) replaces itself; another clashes.
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ArgumentError(f"training kind {kind!r} is taken by {old.__module__}.{old.__qualname__}")
        _REGISTRY[kind] = cls

    def __init__(self, cfg: TrainConfig, data: TrainingData, device: torch.device) -> None:
        self.cfg = cfg
        self.data = data
        self.device = device
        self.lr = cfg.lr if cfg.lr is not None else self.default_lr
        self.step_index = 0
        self.world = current_world()
        self.shard = self.world.shard(cfg.batch_size)
        if self.needs_labels and not data.has_labels:
            raise ArgumentError(
                f"a {self.kind} run needs labelled data; {data.source} has no labels "
                "(a folder needs one sub-folder per class, e.g. DATA/normal/*.png and "
                "DATA/pneumonia/*.png; an .npz needs a 'labels' array)"
            )
        if self.needs_labels and data.num_classes < 2:
            raise ArgumentError(
                f"a {self.kind} run needs at least 2 classes; {data.source} has "
                f"{data.num_classes} ({', '.join(data.class_names)})"
            )

    @property
    def channels(self) -> int:
        """Image channels of the training data (1 grey, 3 RGB)."""
        return int(self.data.images.shape[1])

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
        """A fixed batch of images ``(N, C, S, S)`` to tile into the PNG grid."""
        raise NotImplementedError

    def export(self) -> tuple[nn.Module, dict]:
        """The model to ship and its config (``architecture``, ``kwargs``, …)."""
        raise NotImplementedError


def trainer_for(kind: str) -> type[Trainer]:
    """The registered trainer of ``kind``.

    Raises
    ------
    ValueError
        For a kind no trainer registered, naming the registered ones.
    """
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ArgumentError(f"unknown training kind {kind!r}; choose from {sorted(_REGISTRY)}") from None
