"""A small CNN that reads the ground-truth factors back off phantom images.

Scoring needs to know how much a factor changes along a direction, but a generator's
images carry no labels. The regressor is trained on phantom images with their known
factors (standardised targets, MSE) and reports its own held-out R² per factor, so a
reader can tell which factors it can be trusted on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from latentviz.errors import ArgumentError, ModelFileError, ShapeError

__all__ = ["FactorRegressor", "anatomy_factors"]

_NUISANCE = ("noise", "blur")


def anatomy_factors(kind: str) -> list[str]:
    """The phantom's anatomical factors: all but noise, blur and the lesion parameters."""
    from latentviz.data.phantoms import factor_names

    return [n for n in factor_names(kind) if n not in _NUISANCE and not n.startswith("lesion")]


def _net(n_out: int, channels: int, width: int = 32) -> nn.Module:
    layers: list[nn.Module] = []
    cin = channels
    for cout in (width, 2 * width, 4 * width, 4 * width):
        layers += [nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, n_out))


class FactorRegressor:
    """Images in [-1, 1] → ground-truth factors (in the factors' own units).

    Build one with :meth:`fit` (any images + factors) or :meth:`for_phantom`; call it on
    an image batch to get ``{factor: (N,) array}``. ``r2`` holds the held-out R² per factor.
    """

    def __init__(
        self,
        module: nn.Module,
        names: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        r2: Mapping[str, float] | None = None,
        config: dict | None = None,
    ) -> None:
        self.module = module.eval()
        self.names = list(names)
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        self.r2 = dict(r2 or {})
        self.config = dict(config or {})

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @classmethod
    def fit(
        cls,
        images: torch.Tensor | np.ndarray,
        factors: Mapping[str, np.ndarray],
        names: Sequence[str] | None = None,
        steps: int = 1500,
        batch_size: int = 64,
        lr: float = 2e-3,
        val_fraction: float = 0.2,
        seed: int = 0,
        device: str | torch.device | None = None,
        progress: bool = True,
    ) -> FactorRegressor:
        """Train on ``images (N, C, H, W)`` and ``factors {name: (N,)}``; R² on a held-out split."""
        x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
        if x.ndim != 4:
            raise ShapeError(f"images must be (N, C, H, W), got {tuple(x.shape)}")
        names = list(names or factors)
        y = np.stack([np.asarray(factors[n], np.float64) for n in names], axis=1)
        if len(y) != len(x):
            raise ShapeError(f"{len(x)} images but {len(y)} factor rows")
        mean, std = y.mean(0), y.std(0)
        if (std < 1e-12).any():
            raise ArgumentError(f"factors {[n for n, s in zip(names, std) if s < 1e-12]} are constant")
        target = torch.as_tensor((y - mean) / std, dtype=torch.float32)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x))
        n_val = max(1, int(val_fraction * len(x)))
        val, train = order[:n_val], order[n_val:]
        dev = torch.device(device) if device is not None else torch.device("cpu")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _net(len(names), x.shape[1]).to(dev)
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
            net.train()
            bar = tqdm(range(steps), desc="factor regressor", disable=not progress)
            for step in bar:
                idx = torch.as_tensor(rng.choice(train, size=min(batch_size, len(train)), replace=False))
                loss = ((net(x[idx].to(dev)) - target[idx].to(dev)) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if step % 50 == 0:
                    bar.set_postfix(mse=f"{loss.item():.3f}")
        reg = cls(net, names, mean, std, config={"steps": steps, "n_train": len(train), "n_val": n_val})
        pred = np.stack([reg(x[val])[n] for n in names], axis=1)
        ss_res = ((pred - y[val]) ** 2).sum(0)
        ss_tot = ((y[val] - y[val].mean(0)) ** 2).sum(0)
        reg.r2 = {n: float(1 - r / t) for n, r, t in zip(names, ss_res, ss_tot)}
        return reg

    @classmethod
    def for_phantom(
        cls,
        kind: str,
        size: int = 64,
        n: int = 4000,
        names: Sequence[str] | None = None,
        seed: int = 0,
        **fit,
    ) -> FactorRegressor:
        """Train on ``n`` fresh phantom images of ``kind`` (anatomical factors by default)."""
        from latentviz.data.phantoms import generate

        batch = generate(kind, n, size=size, seed=seed)
        names = list(names or anatomy_factors(kind))
        reg = cls.fit(batch.images, batch.factors, names, seed=seed, **fit)
        reg.config |= {"kind": kind, "size": size, "n": n, "seed": seed}
        return reg

    def __call__(self, images: torch.Tensor, batch_size: int = 512) -> dict[str, np.ndarray]:
        """Predicted factors ``{name: (N,)}`` for images in [-1, 1], batched, no graph."""
        x = torch.as_tensor(images)
        if x.ndim != 4:
            raise ShapeError(f"images must be (N, C, H, W), got {tuple(x.shape)}")
        self.module.eval()
        with torch.inference_mode():
            out = (
                torch.cat(
                    [
                        self.module(x[i : i + batch_size].to(self.device, torch.float32)).cpu()
                        for i in range(0, len(x), batch_size)
                    ]
                )
                .double()
                .numpy()
            )
        out = out * self.std + self.mean
        return {n: out[:, j] for j, n in enumerate(self.names)}

    def save(self, path: str | Path) -> None:
        """``path.safetensors`` (weights) + ``path.json`` (names, scaling, R², config)."""
        from safetensors.torch import save_file

        stem = Path(path).with_suffix("")
        stem.parent.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()},
            str(stem.with_suffix(".safetensors")),
        )
        meta = {
            "names": self.names,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "r2": self.r2,
            "config": self.config,
            "channels": int(self.module[0].in_channels),
        }
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> FactorRegressor:
        """Read a regressor written by :meth:`save`."""
        from safetensors.torch import load_file

        stem = Path(path).with_suffix("")
        try:
            meta = json.loads(stem.with_suffix(".json").read_text())
            net = _net(len(meta["names"]), meta["channels"])
            net.load_state_dict(load_file(str(stem.with_suffix(".safetensors"))))
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise ModelFileError(f"{stem}: not a factor regressor ({exc})") from exc
        return cls(
            net, meta["names"], np.array(meta["mean"]), np.array(meta["std"]), meta["r2"], meta["config"]
        )
