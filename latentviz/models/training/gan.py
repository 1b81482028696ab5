"""Training the DCGAN: hinge loss (Lim & Ye 2017; Miyato et al. 2018), spectral-norm D,
EMA of G (the exported generator)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from latentviz.models.architectures import DCGANDiscriminator, DCGANGenerator
from latentviz.models.training.base import Trainer
from latentviz.models.training.common import ema_update

__all__ = ["GANTrainer", "ema_decay"]


def ema_decay(step: int, target: float = 0.999) -> float:
    """EMA decay with a warm-up, so early averages are not dominated by the random init."""
    return min(target, (1.0 + step) / (10.0 + step))


class GANTrainer(Trainer):
    kind = "gan"
    architecture = "dcgan"
    loss_names = ("d_loss", "g_loss", "d_real", "d_fake")
    default_lr = 2e-4

    def __init__(self, cfg, data, device) -> None:
        super().__init__(cfg, data, device)
        self.kwargs = self.generator_kwargs()
        self.G = self.build_generator().to(device)
        self.D = DCGANDiscriminator(
            image_size=cfg.size, width=self.kwargs["width"], channels=self.channels
        ).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=self.lr, betas=betas)
        self._fixed_z = self.preview_latents(torch.Generator().manual_seed(cfg.seed + 2)).to(device)
        self.train_G, self.train_D = self.parallel(self.G), self.parallel(self.D)

    def generator_kwargs(self) -> dict:
        c = self.cfg
        return {
            "latent_dim": c.latent_dim or 32,
            "image_size": c.size,
            "width": c.width or 32,
            **self.channel_kwargs(),
        }

    def channel_kwargs(self) -> dict:
        """``{"channels": 3}`` for RGB; nothing for grey (grey cards stay as they were)."""
        return {"channels": self.channels} if self.channels != 1 else {}

    def build_generator(self) -> nn.Module:
        return DCGANGenerator(**self.kwargs)

    def preview_latents(self, gen: torch.Generator) -> torch.Tensor:
        """Fixed latents of the PNG sample grids."""
        return torch.randn(32, self.G.latent_dim, generator=gen)

    def stateful(self) -> dict:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema, "opt_g": self.opt_g, "opt_d": self.opt_d}

    def sample_z(self) -> torch.Tensor:
        """Latents of this process's slice of the global batch."""
        return self.noise(torch.randn, self.G.latent_dim)

    def generator_extra_loss(self, z: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return fake.new_zeros(()), {}

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return -fake_out.mean()

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        self.G.train()
        z = self.sample_z()
        with torch.no_grad():
            fake = self.train_G(z)
        real_out, fake_out = self.train_D(images), self.train_D(fake)
        d_loss = self.d_loss(real_out, fake_out)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        z = self.sample_z()
        fake = self.train_G(z)
        g_adv = self.g_adv_loss(self.train_D(fake))
        extra, extra_logs = self.generator_extra_loss(z, fake)
        g_loss = g_adv + extra
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        ema_update(self.G_ema, self.G, ema_decay(self.step_index))
        return {
            "d_loss": d_loss.item(),
            "g_loss": g_loss.item(),
            "d_real": real_out.mean().item(),
            "d_fake": fake_out.mean().item(),
            **extra_logs,
        }

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        return self.G_ema.eval()(self._fixed_z)

    def export(self) -> tuple[nn.Module, dict]:
        return self.G_ema.eval(), {
            "architecture": self.architecture,
            "kwargs": self.kwargs,
            "role": "generator",
            "ema": True,
        }
