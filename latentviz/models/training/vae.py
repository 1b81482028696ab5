"""Training the convolutional VAE: negative ELBO with a linear KL warm-up."""

from __future__ import annotations

import torch
from torch import nn

from latentviz.models.architectures import ConvVAE
from latentviz.models.training.base import Trainer

__all__ = ["NegativeELBO", "VAETrainer"]


class NegativeELBO(nn.Module):
    """``ConvVAE.loss`` as a module's forward (DDP synchronises gradients of forward calls)."""

    def __init__(self, model: ConvVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, beta: float, noise: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return self.model.loss(x, beta=beta, noise=noise)


class VAETrainer(Trainer):
    """Adam on recon + β·KL, β rising linearly from 0 to 1 over the first 20 % of the steps
    (KL annealing, Bowman et al. 2016), which avoids early posterior collapse."""

    kind = "vae"
    architecture = "vae"
    loss_names = ("loss", "recon", "kl", "beta")
    default_lr = 1e-3

    def __init__(self, cfg, data, device) -> None:
        super().__init__(cfg, data, device)
        self.kwargs = {"latent_dim": cfg.latent_dim or 32, "image_size": cfg.size, "width": cfg.width or 16}
        if self.channels != 1:  # RGB; grey cards stay as they were
            self.kwargs["channels"] = self.channels
        self.model = ConvVAE(**self.kwargs).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.train_elbo = self.parallel(NegativeELBO(self.model))
        gen = torch.Generator().manual_seed(cfg.seed + 2)
        self._fixed_z = torch.randn(16, self.model.latent_dim, generator=gen).to(device)
        self._preview = data.images[:16]

    def stateful(self) -> dict:
        return {"model": self.model, "opt": self.opt}

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        self.model.train()
        beta = min(1.0, (self.step_index + 1) / max(1.0, 0.2 * self.cfg.steps))
        loss, logs = self.train_elbo(images, beta, self.noise(torch.randn, self.model.latent_dim))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {**logs, "beta": beta}

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Top: 16 prior samples; bottom: 8 held images and their reconstructions."""
        m = self.model.eval()
        recon = m.decode(m.encode(self._preview[:8]))
        return torch.cat([m.decode(self._fixed_z), self._preview[:8], recon])

    def export(self) -> tuple[nn.Module, dict]:
        return self.model.eval(), {
            "architecture": self.architecture,
            "kwargs": self.kwargs,
            "role": "generator",
        }
