"""What one batch of a job computes: the rows of one store part.

Every command reuses :mod:`latentviz.explain` on a whole batch at once (one inversion of N
images, one batched attribution per method); nothing here is per-image Python.

``encode``
    ``z`` (and ``z1``/``z2`` for a conditional generator), the classifier ``probability``, and
    the inversion fidelity (``mse``, ``psnr``, ``ssim``, ``probability_reconstruction``,
    ``agrees``, ``low_fidelity``); works for any generator (a VAE starts from its encoder).
``explain``
    ``encode`` plus the medXGAN counterfactual (``probability_negative`` /
    ``probability_positive``, ``map_medxgan`` = the channel-mean difference map), one
    ``map_<method>`` per attribution method (channel sum, float16), ``completeness_<method>``
    where the method has a completeness delta, and the localisation metrics
    ``iou_<method>``, ``pointing_<method>``, ``auprc_<method>`` on images whose mask is not
    empty (NaN elsewhere). Needs a conditional generator.
``evaluate``
    As ``explain`` without storing the maps, plus the faithfulness of every map
    (``deletion_<method>``, ``insertion_<method>``: Petsiuk AUCs against a blurred image).

Every part also holds ``index``, ``label`` and, for phantoms, ``factor_<name>``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from latentviz.batch.source import ImageBatch
from latentviz.errors import ArgumentError, ModelFileError
from latentviz.explain import (
    auprc,
    deletion_insertion,
    explain_image,
    gaussian_blur,
    invert,
    iou_at_mask_percentile,
    pointing_game,
    registry,
)
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["COMMANDS", "JobOptions", "check_models", "compute_batch", "summary_table"]

COMMANDS = ("encode", "explain", "evaluate")
LOCALISATION = {"iou": iou_at_mask_percentile, "pointing": pointing_game, "auprc": auprc}


@dataclass(frozen=True)
class JobOptions:
    """The options of a job (recorded in the manifest; a resumed run must use the same).

    Attributes
    ----------
    command
        One of :data:`COMMANDS`.
    methods
        Attribution methods of ``explain`` / ``evaluate`` (registry keys, default: the
        registry's default selection); the medXGAN difference map is always added.
    inversion
        Options of :func:`latentviz.explain.invert` (``steps``, ``restarts``, ``refine``, …).
    ig_steps, lig_steps
        Path steps of Integrated Gradients and Latent IG (default: the methods' declared ones).
    method_options
        ``{key: {option: value}}`` over the declared defaults of the other options.
    n_frames
        Frames of the negative → positive path whose probabilities are stored
        (``path_probability``).
    deletion_steps
        Steps of the deletion / insertion curves (``evaluate``).
    seed
        Seed of the inversion's random starts.
    """

    command: str = "encode"
    methods: tuple[str, ...] = field(default_factory=registry.default_methods)
    inversion: dict = field(default_factory=dict)
    ig_steps: int = field(default_factory=lambda: registry.get("ig").defaults()["n_steps"])
    lig_steps: int = field(default_factory=lambda: registry.get("lig").defaults()["n_steps"])
    n_frames: int = 8
    deletion_steps: int = 8
    seed: int = 0
    method_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ArgumentError(f"unknown batch command {self.command!r}; choose from {COMMANDS}")
        unknown = set(self.methods) - set(registry.keys())
        if unknown:
            raise ArgumentError(f"unknown methods {sorted(unknown)}; choose from {registry.keys()}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["methods"] = list(self.methods)
        return d


def check_models(generator: object, classifier: object, options: JobOptions) -> None:
    """Refuse models the command cannot use, with a clear :class:`ModelFileError`."""
    if not isinstance(generator, Generator):
        raise ModelFileError("--model must be a generator (zoo name or model file)")
    if not isinstance(classifier, Classifier):
        raise ModelFileError("--classifier must be a classifier (zoo name or model file)")
    if options.command != "encode" and not generator.is_conditional:
        raise ModelFileError(
            f"batch {options.command} needs a conditional (z1, z2) generator such as a medXGAN; "
            f"{generator.name} is not one (batch encode works with any generator)"
        )


def compute_batch(
    generator: Generator, classifier: Classifier, batch: ImageBatch, options: JobOptions
) -> dict[str, np.ndarray]:
    """The store rows of one batch (see the module docstring for the keys)."""
    x = torch.from_numpy(np.ascontiguousarray(batch.images, np.float32)).to(classifier.device)
    out: dict[str, np.ndarray] = {"index": np.asarray(batch.index, np.int64), "label": batch.labels}
    for name, values in batch.factors.items():
        out[f"factor_{name}"] = np.asarray(values, np.float32)
    inversion = {"seed": options.seed, **options.inversion}
    if options.command == "encode":
        with torch.no_grad():
            out["probability"] = classifier.probability(x).cpu().numpy()
        inv = invert(generator, classifier, x, progress=False, **inversion)
    else:
        expl = explain_image(
            generator,
            classifier,
            x,
            methods=options.methods,
            inversion=inversion,
            method_options=options.method_options,
            ig_steps=options.ig_steps,
            lig_steps=options.lig_steps,
            n_frames=options.n_frames,
            progress=False,
        )
        inv = expl.inversion
        out["probability"] = expl.probability.numpy()
        out.update(_explanation_rows(classifier, x, batch.masks, expl, options))
    out.update(_latent_rows(generator, inv))
    return out


def _latent_rows(generator: Generator, inv) -> dict[str, np.ndarray]:
    rows = {
        "z": inv.z.numpy().astype(np.float32),
        "mse": inv.mse.numpy(),
        "psnr": inv.psnr.numpy(),
        "ssim": inv.ssim.numpy(),
        "probability_reconstruction": inv.probability_reconstruction.numpy(),
        "agrees": inv.agrees.numpy(),
        "low_fidelity": inv.low_fidelity.numpy(),
    }
    if generator.is_conditional:
        z1, z2 = generator.split(inv.z)
        rows["z1"], rows["z2"] = z1.numpy().astype(np.float32), z2.numpy().astype(np.float32)
    return rows


def _explanation_rows(
    classifier: Classifier, x: torch.Tensor, masks: np.ndarray | None, expl, options: JobOptions
) -> dict[str, np.ndarray]:
    cf = expl.counterfactual
    rows: dict[str, np.ndarray] = {
        "probability_negative": cf.probability_negative.numpy(),
        "probability_positive": cf.probability_positive.numpy(),
        "path_probability": expl.interpolation.probabilities.numpy().astype(np.float32),
    }
    maps = {"medxgan": cf.difference.mean(1)}
    for name, a in expl.attributions.items():
        maps[name] = a.map.sum(1)
        if a.delta is not None:
            rows[f"completeness_{name}"] = a.delta.abs().numpy()
    n = len(x)
    has_lesion = masks.reshape(n, -1).any(1) if masks is not None else np.zeros(n, bool)
    blurred = gaussian_blur(x, 5.0) if options.command == "evaluate" else None
    for name, m in maps.items():
        if options.command == "explain":
            rows[f"map_{name}"] = m.numpy().astype(np.float16)
        else:
            di = deletion_insertion(classifier, x, m.to(x.device), blurred, n_steps=options.deletion_steps)
            rows[f"deletion_{name}"] = di["deletion"].numpy()
            rows[f"insertion_{name}"] = di["insertion"].numpy()
        if masks is None:
            continue
        for metric, fn in LOCALISATION.items():
            values = np.full(n, math.nan, np.float32)
            if has_lesion.any():
                sel = torch.from_numpy(has_lesion)
                values[has_lesion] = fn(m[sel], torch.from_numpy(masks[has_lesion])).numpy()
            rows[f"{metric}_{name}"] = values
    return rows


def summary_table(rows: dict[str, np.ndarray], manifest: dict) -> str:
    """A markdown table over the whole store: per method, ``mean [95 % CI]`` of each metric
    (localisation on images with a lesion mask, faithfulness, completeness)."""
    from latentviz.explain.evaluation import mean_ci

    methods = ["medxgan", *manifest.get("options", {}).get("methods", [])]
    metrics = ["iou", "pointing", "auprc", "deletion", "insertion", "completeness"]
    cols = [m for m in metrics if any(f"{m}_{k}" in rows for k in methods)]
    lines = ["| method | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for method in methods:
        cells = []
        for metric in cols:
            values = rows.get(f"{metric}_{method}")
            mean, lo, hi = mean_ci(values) if values is not None else (math.nan,) * 3
            cells.append("–" if not math.isfinite(mean) else f"{mean:.3f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    n = len(rows.get("index", []))
    if n:
        low = float(np.mean(rows["low_fidelity"]))
        lines.append(
            f"\n{n} images; inversion PSNR {float(np.mean(rows['psnr'])):.1f} dB, "
            f"{100 * low:.0f} % flagged low fidelity"
        )
    return "\n".join(lines)
