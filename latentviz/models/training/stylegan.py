"""Training the style-based models: ``stylegan`` (generator only) and ``gaan`` (the
style-based generative adversarial autoencoder of SEE-GAAN's kind).

The image GAN follows StyleGAN2 (Karras et al. 2020): the non-saturating logistic loss,
R1 on real images and path-length regularisation, both *lazy* (every ``r1_every`` /
``pl_every`` steps, scaled by that period), style mixing, a running ``w_avg`` for
truncation and an EMA of the generator weights (the exported model).

The ``gaan`` kind adds an encoder E into W (or W+) trained with two terms:

* ALAE's latent reconstruction in W (Pidhorskyi et al. 2020): ``‖E(G(w)) − w‖²`` on
  generated images, so that E inverts G where G is defined;
* a pixel reconstruction of real images, ``|G(E(x)) − x|`` (L1), back-propagated into E
  *and* G, which makes the pair an autoencoder on the training data.

ALAE alone puts the discriminator on E's output and has no pixel term; on phantoms that
gave codes whose images drift from the input, and SEE-GAAN needs real images to come back
faithfully before it walks between their codes, hence the pixel term (the choice pSp and
e4e make for their encoders). The GAN loss keeps the samples realistic; the latent cycle
keeps E's codes where G's mapping puts its samples, so walks between encoded images stay
on the learned manifold.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latentviz.errors import ModelFileError
from latentviz.models.architectures.stylegan import StyleDiscriminator, StyleGAN2Generator
from latentviz.models.training.base import Trainer
from latentviz.models.training.common import ema_update
from latentviz.models.training.distributed import average_gradients, mean_tensor_over_ranks

__all__ = ["GAANTrainer", "StyleGANTrainer", "style_ema_decay"]


def style_ema_decay(step: int, batch_size: int, half_life_images: float = 10_000.0) -> float:
    """EMA decay with StyleGAN2's half-life in images and a ramp-up over the first steps
    (the half-life is capped at 5 % of the images seen so far), so that a short run's
    average is not dominated by the random initialisation."""
    seen = max(1, (step + 1) * batch_size)
    half_life = min(half_life_images, 0.05 * seen)
    return 0.5 ** (batch_size / max(half_life, 1e-8))


class StyleGANTrainer(Trainer):
    """StyleGAN2 on the training images (no encoder)."""

    kind = "stylegan"
    architecture = "stylegan2"
    loss_names = ("d_loss", "g_loss", "r1", "pl")
    default_lr = 2e-3
    encoder_space: str | None = None
    r1_every = 16
    pl_every = 8
    mixing_prob = 0.9

    def __init__(self, cfg, data, device) -> None:
        super().__init__(cfg, data, device)
        self.kwargs = self.generator_kwargs()
        self.G = StyleGAN2Generator(**self.kwargs).to(device)
        d_kw = {k: self.kwargs[k] for k in ("image_size", "channel_base", "channel_max")}
        self.D = StyleDiscriminator(image_channels=int(data.images.shape[1]), **d_kw).to(device)
        if cfg.extra.get("init_from"):
            self.init_from(str(cfg.extra["init_from"]))
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        # Lazy regularisation rescales Adam's hyper-parameters (StyleGAN2, appendix B).
        g_ratio, d_ratio = self.pl_every / (self.pl_every + 1), self.r1_every / (self.r1_every + 1)
        self.opt_g = torch.optim.Adam(
            self.G.parameters(), lr=self.lr * g_ratio, betas=(0.0, 0.99**g_ratio), eps=1e-8
        )
        self.opt_d = torch.optim.Adam(
            self.D.parameters(), lr=self.lr * d_ratio, betas=(0.0, 0.99**d_ratio), eps=1e-8
        )
        size = int(data.images.shape[-1])
        self.r1_gamma = float(cfg.extra.get("r1_gamma", 0.0002 * size * size / cfg.batch_size))
        self.pl_weight = float(cfg.extra.get("pl_weight", 2.0))
        self.pl_mean = torch.zeros((), device=device)
        gen = torch.Generator().manual_seed(cfg.seed + 2)
        self._fixed_z = torch.randn(32, self.G.z_dim, generator=gen).to(device)
        # No DDP wrapper: the steps call G's submodules and take double-backward penalties,
        # so each optimiser's gradients are averaged over the ranks before its step.
        self.train_G, self.train_D = self.G, self.D

    def _step(self, *optimizers: torch.optim.Optimizer) -> None:
        """Average the gradients of ``optimizers``' parameters over the ranks, then step."""
        for opt in optimizers:
            average_gradients([p for g in opt.param_groups for p in g["params"]], self.world)
        for opt in optimizers:
            opt.step()

    def generator_kwargs(self) -> dict:
        c = self.cfg
        width = c.width or 48
        return {
            "image_size": c.size,
            "z_dim": c.latent_dim or 64,
            "w_dim": c.latent_dim or 64,
            "n_mlp": int(c.extra.get("n_mlp", 4)),
            "channel_base": 16 * width,
            "channel_max": width,
            "image_channels": int(self.data.images.shape[1]),
            "encoder": self.encoder_space,
        }

    def init_from(self, source: str) -> None:
        """Start G (and so G_ema) from a saved style generator: a zoo name or weights path.

        The source must have this run's generator architecture (image size, widths, latent
        sizes, layers). A StyleGAN2 generator without an encoder can start a ``gaan`` run:
        its encoder starts fresh. The discriminator always starts fresh.
        """
        from latentviz import zoo
        from latentviz.models.io import load_model

        path = zoo.path_of(source) if source in zoo.names() else Path(source)
        module, src_cfg = load_model(path)
        if not isinstance(module, StyleGAN2Generator):
            raise ModelFileError(
                f"--init-from {source}: a {src_cfg['architecture']!r} model, not a style generator"
            )
        theirs = {k: v for k, v in src_cfg["kwargs"].items() if k != "encoder"}
        ours = {k: v for k, v in self.kwargs.items() if k != "encoder"}
        differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
        if differ:
            pairs = ", ".join(f"{k}: {theirs.get(k)} there, {ours.get(k)} here" for k in differ)
            raise ModelFileError(f"--init-from {source}: another generator architecture ({pairs})")
        state = module.state_dict()
        own = self.G.state_dict()
        if src_cfg["kwargs"].get("encoder") != self.kwargs.get("encoder"):
            state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
            state.update({k: v for k, v in own.items() if k.startswith("encoder.")})
        self.G.load_state_dict(state, strict=True)

    def stateful(self) -> dict:
        return {
            "G": self.G,
            "D": self.D,
            "G_ema": self.G_ema,
            "opt_g": self.opt_g,
            "opt_d": self.opt_d,
            "pl": _Scalar(self, "pl_mean"),
        }

    # -- latents ---------------------------------------------------------------------
    def sample_ws(self, update_avg: bool = False) -> torch.Tensor:
        """W+ batch with style mixing (two ws crossing over at a random layer)."""
        z = self.noise(torch.randn, 2, self.G.z_dim)
        w = self.G.mapping(z.flatten(0, 1)).view(z.shape[0], 2, -1)
        if update_avg:
            with torch.no_grad():
                self.G.w_avg.lerp_(mean_tensor_over_ranks(w[:, 0].mean(0), self.world), 0.005)
        n = self.G.num_ws
        cut = torch.randint(1, n, (w.shape[0], 1), device=w.device)
        mix = torch.rand(w.shape[0], 1, device=w.device) < self.mixing_prob
        cut = torch.where(mix, cut, torch.full_like(cut, n))
        first = torch.arange(n, device=w.device)[None, :] < cut
        return torch.where(first[..., None], w[:, :1], w[:, 1:])

    # -- losses ----------------------------------------------------------------------
    def d_step(self, images: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            fake = self.G.synthesis(self.sample_ws(), randomize_noise=True)
        fake = self.extra_fakes(images, fake)
        d_loss = F.softplus(self.train_D(fake)).mean() + F.softplus(-self.train_D(images)).mean()
        r1 = torch.zeros((), device=images.device)
        if self.step_index % self.r1_every == 0:
            real = images.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.train_D(real).sum(), real, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            d_loss = d_loss + self.r1_gamma / 2 * r1 * self.r1_every
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self._step(self.opt_d)
        return {"d_loss": d_loss.detach(), "r1": r1.detach()}

    def extra_fakes(self, images: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake

    def path_length(self) -> torch.Tensor:
        """StyleGAN2's path-length penalty on half a batch."""
        ws = self.sample_ws()[: max(1, self.shard_size // 2)]
        ws = ws.detach().requires_grad_(True)
        img = self.G.synthesis(ws, randomize_noise=True)
        y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(mean_tensor_over_ranks(lengths.mean(), self.world), 0.01)
        return (lengths - self.pl_mean).square().mean()

    @property
    def shard_size(self) -> int:
        s = self.shard
        return len(range(self.cfg.batch_size)[s]) if isinstance(s, slice) else len(s)

    def g_step(self, images: torch.Tensor) -> dict[str, float]:
        fake = self.G.synthesis(self.sample_ws(update_avg=True), randomize_noise=True)
        g_loss = F.softplus(-self.train_D(fake)).mean()
        pl = torch.zeros((), device=images.device)
        if self.pl_weight > 0 and self.step_index % self.pl_every == 0:
            pl = self.path_length()
            g_loss = g_loss + self.pl_weight * pl * self.pl_every
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self._step(self.opt_g)
        return {"g_loss": g_loss.detach(), "pl": pl.detach()}

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        self.G.train()
        logs = {**self.d_step(images), **self.g_step(images), **self.encoder_step(images)}
        ema_update(self.G_ema, self.G, style_ema_decay(self.step_index, self.cfg.batch_size))
        values = torch.stack([logs[k].float() for k in self.loss_names]).tolist()  # one host sync
        return dict(zip(self.loss_names, values))

    def encoder_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        return self.G_ema.eval()(self._fixed_z)

    def export(self) -> tuple[nn.Module, dict]:
        return self.G_ema.eval(), {
            "architecture": self.architecture,
            "kwargs": self.kwargs,
            "role": "generator",
            "ema": True,
            "objective": self.objective,
        }

    objective = "StyleGAN2: non-saturating logistic loss, lazy R1, lazy path length, style mixing, EMA"


class GAANTrainer(StyleGANTrainer):
    """The style-based generative adversarial autoencoder: StyleGAN2 + an encoder into W.

    Options through ``TrainConfig.extra``: ``encoder_space`` (``"w"`` or ``"w+"``, default
    ``"w"``), ``lambda_rec`` (pixel L1 weight, default 1), ``lambda_lat`` (latent cycle
    weight, default 1).
    """

    kind = "gaan"
    architecture = "style-gaan"
    loss_names = ("d_loss", "g_loss", "r1", "pl", "rec", "lat")
    objective = (
        "StyleGAN2 image GAN + ALAE latent reconstruction ‖E(G(w))−w‖² + pixel L1 |G(E(x))−x| into E and G"
    )

    def __init__(self, cfg, data, device) -> None:
        self.encoder_space = str(cfg.extra.get("encoder_space", "w"))
        super().__init__(cfg, data, device)
        self.lambda_rec = float(cfg.extra.get("lambda_rec", 1.0))
        self.lambda_lat = float(cfg.extra.get("lambda_lat", 1.0))
        # E's parameters live inside G (one exported file); they train on their own terms.
        self.enc_params = list(self.G.encoder.parameters())
        enc_ids = {id(p) for p in self.enc_params}
        g_params = [p for p in self.G.parameters() if id(p) not in enc_ids]
        g_ratio = self.pl_every / (self.pl_every + 1)
        self.opt_g = torch.optim.Adam(g_params, lr=self.lr * g_ratio, betas=(0.0, 0.99**g_ratio), eps=1e-8)
        self.opt_e = torch.optim.Adam(self.enc_params, lr=self.lr * 0.5, betas=(0.5, 0.99), eps=1e-8)
        self._fixed_x = data.images[:16].to(device)

    def stateful(self) -> dict:
        return {**super().stateful(), "opt_e": self.opt_e}

    def encoder_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            w = self.G.mapping(self.noise(torch.randn, self.G.z_dim))
            fake = self.G.synthesis(w, randomize_noise=True)
        target = w if self.encoder_space == "w" else self.G.broadcast(w)
        lat = (self.G.encoder(fake) - target).square().mean()
        rec = (self.G.synthesis(self.G.encoder(images)) - images).abs().mean()
        loss = self.lambda_lat * lat + self.lambda_rec * rec
        self.opt_e.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self._step(self.opt_e, self.opt_g)
        return {"rec": rec.detach(), "lat": lat.detach()}

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Top half: fixed samples; bottom half: 16 training images and their reconstructions."""
        g = self.G_ema.eval()
        rec = g.synthesis(g.encode(self._fixed_x))
        pairs = torch.stack([self._fixed_x, rec], 1).flatten(0, 1)
        return torch.cat([g(self._fixed_z[:16]), pairs[:16], pairs[16:]])


class _Scalar:
    """Checkpoints one tensor attribute of the trainer (the path-length mean)."""

    def __init__(self, owner: object, attr: str) -> None:
        self.owner, self.attr = owner, attr

    def state_dict(self) -> dict:
        return {"value": getattr(self.owner, self.attr).detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        getattr(self.owner, self.attr).copy_(state["value"])
