"""``latentviz evaluate TARGET``: measured evaluations.

* ``explanations``: localisation, faithfulness, robustness, sanity and completeness of every
  explanation method on phantoms with known lesion masks (:mod:`latentviz.explain.evaluation`).
* ``directions``: delegated to ``latentviz.cli._evaluate_directions`` when installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from latentviz.cli import print_json

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "default_models", "run"]

HELP = "evaluate explanations (or directions) against ground truth on phantoms"
DESCRIPTION = (
    "explanations: run every registered explanation method (medXGAN, LIG, Grad-CAM, IG, "
    "SmoothGrad, Latent Shift, Saliency, Occlusion, DeepLift, …) on N positive "
    "phantoms and print methods × metrics (means with 95 % CIs). directions: see "
    "`latentviz evaluate directions --help`."
)
_DIRECTIONS = "latentviz.cli._evaluate_directions"


def default_models(kind: str) -> dict[str, str | None]:
    """Zoo names used by default for a phantom kind: ``{kind}-medxgan``, ``{kind}-classifier``,
    ``{kind}-vae`` (Latent Shift) and ``{kind}-gaan`` (the style walks), each only if the zoo
    has it."""
    from latentviz import zoo

    have = set(zoo.names())
    pick = lambda n: n if n in have else None  # noqa: E731
    return {
        "model": pick(f"{kind}-medxgan"),
        "classifier": pick(f"{kind}-classifier"),
        "autoencoder": pick(f"{kind}-vae"),
        "style_model": pick(f"{kind}-gaan"),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    from latentviz.explain import registry

    sub = p.add_subparsers(dest="evaluate_target", metavar="TARGET")
    e = sub.add_parser("explanations", help="score explanation methods against phantom lesion masks")
    from latentviz.data.phantoms import KINDS

    e.add_argument("--data", choices=list(KINDS), default="cxr", help="phantom kind (default cxr)")
    e.add_argument("--n", type=int, default=16, help="positive phantoms (default 16)")
    e.add_argument("--seed", type=int, default=1000, help="phantom seed (default 1000, unseen by the zoo)")
    from latentviz.cli import MODEL_FORMS, add_latent_shape_argument

    e.add_argument(
        "--model", default=None, help=f"conditional generator: {MODEL_FORMS} (default: zoo KIND-medxgan)"
    )
    add_latent_shape_argument(e)
    e.add_argument(
        "--classifier", default=None, help=f"classifier: {MODEL_FORMS} (default: zoo KIND-classifier)"
    )
    e.add_argument(
        "--autoencoder", default=None, help=f"VAE for Latent Shift: {MODEL_FORMS} (default: zoo KIND-vae)"
    )
    e.add_argument(
        "--style-model",
        default=None,
        help=f"style-based autoencoder for style_cf / style_lig: {MODEL_FORMS} (default: zoo KIND-gaan)",
    )
    e.add_argument(
        "--methods",
        nargs="+",
        default=None,
        choices=list(registry.keys()),
        help="subset of the registered methods (default: all that the models allow)",
    )
    e.add_argument(
        "--gradcam-blocks",
        nargs="+",
        default=None,
        metavar="K",
        help="also score Grad-CAM read at these conv blocks, counted from the last (1 = the default "
        "layer; 'all' = every block), as extra rows on the same images",
    )
    e.add_argument(
        "--paired",
        nargs="*",
        default=None,
        metavar="METRIC",
        help="print paired bootstrap CIs of the difference between every pair of methods on the same "
        "images, with a verdict only where the interval excludes zero (default metrics: iou pointing "
        "deletion insertion)",
    )
    e.add_argument("--restarts", type=int, default=2, help="inversion restarts (default 2)")
    e.add_argument("--steps", type=int, default=100, help="inversion Adam steps before L-BFGS (default 100)")
    e.add_argument("--noise", type=float, default=0.1, help="robustness: Gaussian noise sigma (default 0.1)")
    e.add_argument("--blur", type=float, default=1.0, help="robustness: blur sigma in pixels (default 1)")
    e.add_argument("--no-robustness", action="store_true", help="skip the noise/blur tests")
    e.add_argument("--no-sanity", action="store_true", help="skip the model-randomisation test")
    e.add_argument("--device", default=None, help="cpu, cuda, mps")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    fmt = e.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--markdown", action="store_true", help="print a markdown table (default)")
    e.set_defaults(_evaluate=_run_explanations)
    if importlib.util.find_spec(_DIRECTIONS) is not None:
        mod = importlib.import_module(_DIRECTIONS)
        d = sub.add_parser(
            "directions",
            help=getattr(mod, "HELP", "score latent directions"),
            description=getattr(mod, "DESCRIPTION", None),
        )
        mod.add_arguments(d)
        d.set_defaults(_evaluate=mod.run)


def _run_explanations(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from latentviz.cli.explain import resolve_model
    from latentviz.data.phantoms import generate
    from latentviz.errors import ModelFileError
    from latentviz.explain.evaluation import evaluate_explanations
    from latentviz.explain.methods.style_walk import is_style_autoencoder
    from latentviz.models import Classifier, Generator

    defaults = default_models(args.data) if not (args.model and args.classifier) else {}
    model = args.model or defaults.get("model")
    clf_name = args.classifier or defaults.get("classifier")
    ae_name = args.autoencoder or (defaults.get("autoencoder") if args.autoencoder is None else None)
    if clf_name is None:
        raise ModelFileError(
            f"no classifier for {args.data!r}: pass --classifier (zoo has no {args.data}-classifier)"
        )
    clf = resolve_model(clf_name, args.device, role="classifier", flag="--classifier")
    if not isinstance(clf, Classifier):
        raise ModelFileError(f"--classifier {clf_name}: not a classifier")
    gen = (
        resolve_model(model, args.device, role="generator", flag="--model", latent_shape=args.latent_shape)
        if model
        else None
    )
    if gen is not None and (not isinstance(gen, Generator) or not gen.is_conditional):
        raise ModelFileError(f"--model {model}: a conditional (z1, z2) generator is needed")
    ae = resolve_model(ae_name, args.device, role="generator", flag="--autoencoder") if ae_name else None
    if ae is not None and (not isinstance(ae, Generator) or not ae.has_encoder):
        raise ModelFileError(f"--autoencoder {ae_name}: a generator with an encoder (VAE) is needed")
    style_name = args.style_model or defaults.get("style_model")
    style = (
        resolve_model(style_name, args.device, role="generator", flag="--style-model") if style_name else None
    )
    if style is not None and not is_style_autoencoder(style):
        raise ModelFileError(f"--style-model {style_name}: a style-based generator with an encoder is needed")
    size = (gen or ae).image_shape[-1] if (gen or ae) else int(clf.config.get("image_size", 64))
    variants = _gradcam_variants(clf, args.gradcam_blocks)
    batch = generate(args.data, args.n, size=size, seed=args.seed, labels=np.ones(args.n, dtype=np.int64))
    table = evaluate_explanations(
        clf,
        torch.from_numpy(batch.images),
        batch.masks,
        generator=gen,
        autoencoder=ae,
        style_autoencoder=style,
        methods=args.methods,
        noise_sigma=args.noise,
        blur_sigma=args.blur,
        robustness=not args.no_robustness,
        sanity=not args.no_sanity,
        options={"inversion": {"restarts": args.restarts, "steps": args.steps}},
        progress=not args.quiet,
        variants=variants,
        info={
            "data": args.data,
            "size": size,
            "seed": args.seed,
            "model": model,
            "classifier": clf_name,
            "autoencoder": ae_name,
            "style_model": style_name,
        },
    )
    if args.json:
        print_json(table.to_dict())
    else:
        info = table.info
        print(
            f"# explanations on {info['n']} positive {args.data} phantoms ({size} px, seed {args.seed}); "
            f"generator {model}, classifier {clf_name}, autoencoder {ae_name}, style model {style_name}"
        )
        print(table.to_markdown())
        if table.fidelity:
            f = {k: float(np.mean(v)) for k, v in table.fidelity.items()}
            print(
                f"\ninversion: PSNR {f['psnr']:.1f} dB, SSIM {f['ssim']:.3f}, classifier agrees "
                f"{f['agrees']:.0%}, low fidelity {f['low_fidelity']:.0%}, "
                f"{f['seconds_per_image']:.2f} s/image"
            )
        if table.distributions("completeness"):
            print("\ncompleteness error |Σ attribution − Δ score| per image:")
            print(table.distribution_markdown("completeness"))
        for metric in _paired_metrics(args.paired, table):
            print()
            print(table.paired_markdown(metric))
        print("seconds per method: " + ", ".join(f"{k} {v:.1f}" for k, v in table.seconds.items()))
    return 0


def _gradcam_variants(clf, blocks: list[str] | None) -> dict | None:
    """``--gradcam-blocks`` as evaluation variants (``all``: every block but the default)."""
    from latentviz.errors import ArgumentError
    from latentviz.explain.evaluation import gradcam_block_variants

    if not blocks:
        return None
    if blocks == ["all"]:
        return gradcam_block_variants(clf)
    try:
        picks = [int(b) for b in blocks]
    except ValueError:
        got = " ".join(blocks)
        raise ArgumentError(f"--gradcam-blocks takes block numbers or 'all', not {got}") from None
    return gradcam_block_variants(clf, [k for k in picks if k != 1])


def _paired_metrics(asked: list[str] | None, table) -> list[str]:
    from latentviz.errors import ArgumentError
    from latentviz.explain.evaluation import METRICS

    if asked is None:
        return []
    metrics = asked or ["iou", "pointing", "deletion", "insertion"]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ArgumentError(f"--paired: unknown metric {bad[0]!r}; metrics: {', '.join(METRICS)}")
    return [m for m in metrics if any(m in row for row in table.values.values())]


def run(args: argparse.Namespace) -> int:
    fn = getattr(args, "_evaluate", None)
    if fn is None:
        print("usage: latentviz evaluate {explanations,directions} ... (see --help)", file=sys.stderr)
        return 1
    return int(fn(args) or 0)
