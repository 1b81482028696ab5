"""Training medXGAN (Dravid et al. 2022): G(z1, z2) against a discriminator plus the
frozen classifier's feedback, λ · CE(C(G(z1, z2)), label) on the classifier's LOGITS
(the public code applies softmax twice; latentviz does not).

Half of each batch is negative (z2 = 0) and half positive (z2 ~ N(0, I)). With N classes, one
of them is the positive class k (``--positive-class``, default the classifier's ``target``) and
the loss is the cross-entropy of "k vs the rest": −log p_k for z2 ≠ 0 and −log(1 − p_k) =
−log Σ_{j≠k} p_j for z2 = 0, which for two classes is the paper's CE with labels 0/1. The
discriminator uses spectral norm and the paper's BCE loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from latentviz.errors import ModelFileError
from latentviz.models.architectures import MedXGANGenerator
from latentviz.models.classifier import Classifier
from latentviz.models.training.common import class_index
from latentviz.models.training.gan import GANTrainer

__all__ = ["MedXGANTrainer", "load_frozen_classifier"]


def load_frozen_classifier(spec: str | None, device: torch.device, image_size: int) -> Classifier:
    """The frozen classifier of a medXGAN run: a zoo name, a latentviz model file or a
    TorchScript file (:func:`latentviz.models.resolve.resolve_model`)."""
    if not spec:
        raise ModelFileError(
            "a medxgan run needs --classifier (a weights path or a zoo name like cxr-classifier)"
        )
    from latentviz.models.resolve import resolve_model

    clf = resolve_model(spec, role="classifier", device=device, flag="--classifier")
    size = int(clf.config.get("image_size", image_size))
    if size != image_size:
        raise ModelFileError(f"--classifier {spec}: trained at {size} px, this run is {image_size} px")
    return clf


class MedXGANTrainer(GANTrainer):
    kind = "medxgan"
    architecture = "medxgan"
    loss_names = ("d_loss", "g_loss", "d_real", "d_fake", "cls_ce", "cls_acc")
    default_lr = 2e-4
    grid_columns = 4

    def __init__(self, cfg, data, device) -> None:
        self.classifier = load_frozen_classifier(cfg.classifier, device, cfg.size)
        super().__init__(cfg, data, device)
        names = self._classifier_classes()
        chosen = cfg.positive_class
        self.positive = class_index(names, chosen) if chosen is not None else self.classifier.target
        if not 0 <= self.positive < len(names):
            raise ModelFileError(
                f"--classifier {cfg.classifier}: its target {self.positive} is not one of its "
                f"{len(names)} classes; choose one with --positive-class"
            )
        self.positive_name = names[self.positive]
        wants = int(self.classifier.config.get("kwargs", {}).get("channels", 1))
        if self.channels == 3 and wants == 1:
            raise ModelFileError(
                f"--classifier {cfg.classifier}: takes grey images; this run is RGB (--channels 3)"
            )
        from latentviz.models.io import model_paths

        spec = str(cfg.classifier)
        # A file is recorded by its stem (no machine-specific path); a zoo model by its name.
        self.classifier_ref = model_paths(spec)[0].stem if model_paths(spec)[0].is_file() else spec

    def _classifier_classes(self) -> list[str]:
        """One name per logit of the frozen classifier (its ``target_names``, else indices)."""
        names = list(self.classifier.target_names)
        kwargs = self.classifier.config.get("kwargs", {})
        n = int(kwargs.get("num_classes", max(len(names), 2)))
        return names if len(names) == n else [str(i) for i in range(n)]

    def generator_kwargs(self) -> dict:
        c = self.cfg
        return {
            "anatomy_dim": c.latent_dim or 100,
            "pathology_dim": c.pathology_dim or 10,
            "image_size": c.size,
            "width": c.width or 32,
            **self.channel_kwargs(),
        }

    def build_generator(self) -> nn.Module:
        return MedXGANGenerator(**self.kwargs)

    def preview_latents(self, gen: torch.Generator) -> torch.Tensor:
        """8 rows, one z1 each; columns z2 = 0 (negative), then three random z2."""
        d1, d2 = self.kwargs["anatomy_dim"], self.kwargs["pathology_dim"]
        z1 = torch.randn(8, 1, d1, generator=gen).expand(-1, 4, -1)
        z2 = torch.cat([torch.zeros(8, 1, d2), torch.randn(8, 3, d2, generator=gen)], dim=1)
        return torch.cat([z1, z2], dim=2).reshape(32, d1 + d2)

    def sample_z(self) -> torch.Tensor:
        d1, d2 = self.kwargs["anatomy_dim"], self.kwargs["pathology_dim"]
        z1, z2 = self.noise(torch.randn, d1), self.noise(torch.randn, d2)
        rows = torch.arange(self.shard.start, self.shard.stop, device=self.device)
        z2[rows < self.cfg.batch_size // 2] = 0.0  # first half of the global batch negative
        return torch.cat([z1, z2], 1)

    def labels_of(self, z: torch.Tensor) -> torch.Tensor:
        """1 where z2 ≠ 0 (the positive class is asked for), 0 where z2 = 0."""
        d1 = self.kwargs["anatomy_dim"]
        return (z[:, d1:].abs().sum(1) > 0).long()

    def positive_vs_rest(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, 2)`` log-probabilities of (any other class, the positive class)."""
        logp = F.log_softmax(logits, dim=1)
        k = self.positive
        rest = torch.cat([logp[:, :k], logp[:, k + 1 :]], dim=1).logsumexp(dim=1)
        return torch.stack([rest, logp[:, k]], dim=1)

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            real_out, torch.ones_like(real_out)
        ) + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out))

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))

    def generator_extra_loss(self, z: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
        y = self.labels_of(z)
        logits = self.classifier.logits(fake)  # raw logits: the one softmax is applied here
        two = self.positive_vs_rest(logits)
        ce = F.nll_loss(two, y)
        acc = (two.argmax(1) == y).float().mean()
        return self.cfg.lambda_cls * ce, {"cls_ce": ce.item(), "cls_acc": acc.item()}

    def export(self) -> tuple[nn.Module, dict]:
        return self.G_ema.eval(), {
            "architecture": self.architecture,
            "kwargs": self.kwargs,
            "role": "generator",
            "ema": True,
            "split_sizes": [self.kwargs["anatomy_dim"], self.kwargs["pathology_dim"]],
            "classifier": self.classifier_ref,
            "classifier_sha256": self.classifier.sha256,
            "lambda_cls": self.cfg.lambda_cls,
            "positive_class": self.positive_name,
            "positive_index": self.positive,
        }
