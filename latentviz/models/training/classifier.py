"""Training a classifier: cross-entropy on one logit per class (two for phantoms, N for N class folders)."""

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
        self.class_names = data.class_names
        n = len(self.class_names)
        # The class explanations use by default: --positive-class, else index 1 (the positive
        # class of a binary set; the second folder in sorted order).
        self.target = data.class_index(cfg.positive_class) if cfg.positive_class is not None else 1
        self.architecture = str(cfg.extra.get("architecture", "cnn-classifier"))
        # "channels" only when RGB: grey cards stay as they were.
        chans = {"channels": self.channels} if self.channels != 1 else {}
        if self.architecture == "resnet18-classifier":
            self.kwargs: dict = {"num_classes": n, **chans}
            self.model: nn.Module = ResNetClassifier(**self.kwargs).to(device)
        else:
            self.architecture = "cnn-classifier"
            self.kwargs = {"num_classes": n, "width": cfg.width or 16, **chans}
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
            "target": self.target,
            "target_names": self.class_names,
        }
