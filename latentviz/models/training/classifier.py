"""Training the phantom classifier: cross-entropy on two logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from latentviz.models.architectures import PhantomCNN, ResNetClassifier
from latentviz.models.training.base import Trainer

__all__ = ["ClassifierTrainer"]


class ClassifierTrainer(Trainer):
    """Adam on CE(logits, label), with random flips and small intensity jitter as augmentation.

    ``cfg.extra['architecture'] = 'resnet18-classifier'`` trains torchvision's ResNet-18 instead.
    """

    kind = "classifier"
    loss_names = ("loss", "accuracy")
    default_lr = 1e-3
    needs_labels = True

    def __init__(self, cfg, data, device) -> None:
        super().__init__(cfg, data, device)
        self.architecture = str(cfg.extra.get("architecture", "cnn-classifier"))
        if self.architecture == "resnet18-classifier":
            self.kwargs: dict = {"num_classes": 2}
            self.model: nn.Module = ResNetClassifier(**self.kwargs).to(device)
        else:
            self.architecture = "cnn-classifier"
            self.kwargs = {"num_classes": 2, "width": cfg.width or 16}
            self.model = PhantomCNN(**self.kwargs).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=1e-4)
        self.train_model = self.parallel(self.model)
        self._preview = data.images[:16]

    def stateful(self) -> dict:
        return {"model": self.model, "opt": self.opt}

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        self.model.train()
        # Left-right flips would swap anatomy sides the classifier may rely on; use
        # only a mild brightness/contrast jitter.
        g = 1 + 0.1 * (self.noise(torch.rand, 1, 1, 1) - 0.5)
        b = 0.1 * (self.noise(torch.rand, 1, 1, 1) - 0.5)
        x = (images * g + b).clamp(-1, 1)
        logits = self.train_model(x)
        loss = F.cross_entropy(logits, labels)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        acc = (logits.argmax(1) == labels).float().mean()
        return {"loss": loss.item(), "accuracy": acc.item()}

    def samples(self) -> torch.Tensor:
        return self._preview

    def export(self) -> tuple[nn.Module, dict]:
        return self.model.eval(), {
            "architecture": self.architecture,
            "kwargs": self.kwargs,
            "role": "classifier",
            "activation": "softmax",
            "target": 1,
            "target_names": ["negative", "positive"],
        }
