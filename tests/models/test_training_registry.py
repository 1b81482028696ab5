"""The trainer registry: defining a Trainer subclass registers its kind; the loop looks it up."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

import latentviz.models.training as training
from latentviz.models.architectures import PhantomCNN
from latentviz.models.training import KINDS, TRAINERS, TrainConfig, fit, trainer_for
from latentviz.models.training import base as training_base
from latentviz.models.training.loop import Trainer as LoopTrainer


@pytest.fixture
def clean_registry() -> Iterator[None]:
    before = dict(TRAINERS)
    yield
    training_base._REGISTRY.clear()
    training_base._REGISTRY.update(before)


def test_builtin_kinds_are_registered() -> None:
    assert set(KINDS) == {"classifier", "gan", "vae", "medxgan", "stylegan", "gaan"} == set(TRAINERS)
    assert trainer_for("medxgan").__name__ == "MedXGANTrainer"


def test_loop_re_exports_the_base_class() -> None:
    assert LoopTrainer is training.Trainer is training_base.Trainer


def test_defining_a_subclass_registers_it_and_fit_runs_it(
    clean_registry: None, tiny_data: Path, tmp_path: Path
) -> None:
    class ToyTrainer(training.Trainer):
        kind = "toy-registry-test"
        architecture = "cnn-classifier"
        loss_names = ("loss",)

        def __init__(self, cfg, data, device) -> None:
            super().__init__(cfg, data, device)
            self.model = PhantomCNN(width=4).to(device)
            self.opt = torch.optim.SGD(self.model.parameters(), lr=self.lr)

        def stateful(self):
            return {"model": self.model, "opt": self.opt}

        def step(self, images, labels):
            loss = nn.functional.cross_entropy(self.model(images), labels)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            return {"loss": float(loss)}

        def samples(self):
            return self.data.images[:4].cpu()

        def export(self):
            return self.model.eval(), {"architecture": "cnn-classifier", "kwargs": {"width": 4}}

    assert trainer_for("toy-registry-test") is ToyTrainer
    cfg = TrainConfig(
        kind="toy-registry-test", data=str(tiny_data), out=tmp_path, size=16, steps=2, batch_size=8,
        progress=False,
    )  # fmt: skip
    assert fit(cfg)["steps"] == 2


def test_subclass_keeping_its_parents_kind_or_opting_out_does_not_register(clean_registry: None) -> None:
    gan = trainer_for("gan")

    class Tweaked(gan):  # no kind of its own
        pass

    class Helper(training.Trainer, register=False):
        kind = "helper-registry-test"

    assert trainer_for("gan") is gan and "helper-registry-test" not in TRAINERS


def test_a_second_class_cannot_take_a_kind(clean_registry: None) -> None:
    with pytest.raises(ValueError, match="taken"):

        class Impostor(training.Trainer):
            kind = "gan"


def test_unknown_kind_names_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="classifier"):
        trainer_for("nope")


def test_the_loop_imports_no_trainer_module() -> None:
    # The circle is broken: loop.py and base.py name no trainer module.
    pkg = Path(training.__file__).parent
    for name in ("loop.py", "base.py"):
        tree = ast.parse((pkg / name).read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        for trainer_module in ("classifier", "gan", "vae", "medxgan"):
            assert f"latentviz.models.training.{trainer_module}" not in imported, name
