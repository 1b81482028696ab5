"""``latentviz explain IMAGE``: every explanation of one image, written to a folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from latentviz.cli import print_json
from latentviz.data.readers import anonymous_name
from latentviz.errors import ImageReadError, ModelFileError

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "load_image", "load_models", "resolve_model", "run"]

HELP = "explain a classifier's decision on one image (medXGAN counterfactual, Grad-CAM, IG, LIG)"
DESCRIPTION = (
    "Invert IMAGE (DICOM, NIfTI slice, PNG/JPEG/TIFF, NPZ, or phantom:KIND:SEED) into a conditional "
    "generator and explain the classifier with the negative realisation, difference and colorized "
    "maps, Grad-CAM, Integrated Gradients and Latent Integrated Gradients. Writes to DIR: "
    "explanation.png (side-by-side figure), explanation.npz (raw maps), explanation.json "
    "(probabilities, fidelity, completeness) and explanation_interpolation.gif."
)


def resolve_model(name: str, device: str | None = None):
    """A zoo model by name, or a latentviz model file (:func:`latentviz.core.loading.load_model`)."""
    from latentviz.core.loading import load_model

    return load_model(name, device)


def load_models(model: str, classifier: str, device: str | None = None):
    """Load and check a conditional generator and a classifier."""
    from latentviz.models import Classifier, Generator

    g = resolve_model(model, device)
    c = resolve_model(classifier, device)
    if not isinstance(g, Generator) or not g.is_conditional:
        raise ModelFileError(f"--model {model}: a conditional (z1, z2) generator (medXGAN) is needed")
    if not isinstance(c, Classifier):
        raise ModelFileError(f"--classifier {classifier}: not a classifier")
    return g, c


def load_image(spec: str, size: int, window: str | None = None) -> tuple[torch.Tensor, np.ndarray | None]:
    """``(1, 1, size, size)`` model input and the lesion mask (phantoms only)."""
    if spec.startswith("phantom:"):
        from latentviz.data.phantoms import KINDS, generate

        parts = spec.split(":")
        if len(parts) != 3 or parts[1] not in KINDS or not parts[2].lstrip("-").isdigit():
            raise ImageReadError(spec, f"expected phantom:KIND:SEED with KIND in {KINDS} and an integer SEED")
        batch = generate(parts[1], 1, size=size, seed=int(parts[2]), labels=np.array([1]))
        return torch.from_numpy(batch.images), batch.masks
    from latentviz.data import read_image

    path = Path(spec)
    if not path.exists():
        raise ImageReadError(spec, "no such file or folder")
    return read_image(path).to_model_input(size, window), None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", help="DICOM/NIfTI/PNG/NPZ file, or phantom:KIND:SEED (a positive phantom)")
    p.add_argument("--model", required=True, help="conditional generator: zoo name or model file")
    p.add_argument("--classifier", required=True, help="classifier: zoo name or model file")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--methods",
        nargs="+",
        default=["gradcam", "ig", "lig"],
        choices=["gradcam", "ig", "lig", "smoothgrad"],
        help="attribution maps (default: gradcam ig lig)",
    )
    p.add_argument("--target", type=int, default=None, help="class to explain (default: the classifier's)")
    p.add_argument("--restarts", type=int, default=2, help="inversion restarts, one batch (default 2)")
    p.add_argument("--steps", type=int, default=100, help="inversion Adam steps before L-BFGS (default 100)")
    p.add_argument("--ig-steps", type=int, default=50, help="IG steps (default 50)")
    p.add_argument("--lig-steps", type=int, default=32, help="LIG path steps (default 32)")
    p.add_argument("--frames", type=int, default=16, help="interpolation GIF frames (default 16)")
    p.add_argument("--window", default=None, help="window preset or C,W for DICOM/NIfTI input")
    p.add_argument("--seed", type=int, default=0, help="seed of the inversion starts")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the JSON summary")


def run(args: argparse.Namespace) -> int:
    from latentviz.explain.metrics import auprc, iou_at_mask_percentile, pointing_game
    from latentviz.explain.report import explain_image, save_explanation

    g, c = load_models(args.model, args.classifier, args.device)
    size = g.image_shape[-1]
    x, mask = load_image(args.image, size, args.window)
    expl = explain_image(
        g,
        c,
        x,
        methods=args.methods,
        target=args.target,
        inversion={"restarts": args.restarts, "steps": args.steps, "seed": args.seed},
        ig_steps=args.ig_steps,
        lig_steps=args.lig_steps,
        n_frames=args.frames,
        progress=not args.quiet,
    )
    # The image's file name is an identifier: exports say only its format (issue 14, item 12).
    shown = args.image if args.image.startswith("phantom:") else anonymous_name(args.image)
    expl.info.update(image=shown, model=args.model, classifier=args.classifier)
    title = f"{shown} · {Path(args.model).stem} · {Path(args.classifier).stem}"
    paths = save_explanation(expl, args.out, title=title)
    summary = expl.summary()
    if mask is not None:  # phantoms know where the lesion is: score every map
        m = torch.from_numpy(np.asarray(mask))
        maps = {"medxgan": expl.counterfactual.difference} | {k: a.map for k, a in expl.attributions.items()}
        summary["localisation"] = {
            k: {
                "iou": float(iou_at_mask_percentile(v, m)[0]),
                "pointing": float(pointing_game(v, m)[0]),
                "auprc": float(auprc(v, m)[0]),
            }
            for k, v in maps.items()
        }
        paths["summary"].write_text(json.dumps(summary, indent=2, default=float))
    summary["files"] = {k: str(v) for k, v in paths.items()}
    if args.json:
        print_json(summary)
    else:
        p = summary["probability"]
        fid = summary["fidelity"]
        print(
            f"p(original)={p['original']:.3f}  p(reconstruction)={p['reconstruction']:.3f}  "
            f"p(negative)={p['negative']:.3f}"
        )
        print(
            f"inversion: PSNR {fid['psnr']:.1f} dB, SSIM {fid['ssim']:.3f}, "
            f"agrees={fid['agrees']}, low_fidelity={summary['low_fidelity']}"
        )
        if "warning" in summary:
            print(f"warning: {summary['warning']}")
        for k, m in summary["methods"].items():
            d = f"  completeness delta {m['completeness_delta']:+.4f}" if "completeness_delta" in m else ""
            print(f"{k}: {m['seconds'] * 1e3:.0f} ms{d}")
        for k, v in paths.items():
            print(f"wrote {k}: {v}")
    return 0
