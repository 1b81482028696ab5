"""``latentviz evaluate directions``: discover directions with several methods and score them
against the phantom's ground-truth factors (dispatched to from ``latentviz evaluate``)."""

from __future__ import annotations

import argparse
import sys

from latentviz.cli import MODEL_FORMS, add_latent_shape_argument, print_json

__all__ = ["DESCRIPTION", "HEAVY_VOYNOV_STEPS", "HELP", "add_arguments", "heavy_warning", "run"]

HELP = "score direction-discovery methods against phantom factors (slope, R², Spearman, leakage)"

#: Voynov–Babenko runs of at least this many steps get a warning before they start.
HEAVY_VOYNOV_STEPS = 1000

DESCRIPTION = (
    "Discover directions in a zoo generator with each of --methods (SeFa, GANSpace, Voynov–Babenko, "
    "a factor probe, SEE-GAAN centroids), walk each direction from --starts latents, and score the "
    "walks against the phantom's ground-truth factors with a factor regressor: slope and R² of the "
    "best-matching factor, Spearman rank correlation, and leakage into the other factors. Prints "
    "markdown tables (or --json); --strips DIR draws the walks. "
    "Run time: SeFa and the probe take seconds and GANSpace about a minute, but the default "
    "Voynov–Babenko training (--voynov-steps 3000, batch 128, plus its random-A and axes-A "
    "baselines) takes 15–83 min on a 2-core CPU; --voynov-steps 300 takes about a tenth of that, "
    "and --methods sefa ganspace probe skips it."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    # The methods come from the registry (latentviz.directions.registry).
    from latentviz.directions.registry import method_names

    default = list(method_names(evaluated_by_default=True))
    p.add_argument("--model", required=True, help=f"generator: {MODEL_FORMS} (e.g. ct-dcgan, ct-vae)")
    add_latent_shape_argument(p)
    p.add_argument(
        "--methods",
        nargs="+",
        choices=method_names(),
        default=default,
        help=f"methods to run (default: {' '.join(default)})",
    )
    p.add_argument("--k", type=int, default=10, help="directions per method (default 10)")
    p.add_argument(
        "--voynov-steps",
        type=int,
        default=3000,
        help="Voynov–Babenko steps (default 3000: 15–83 min on a 2-core CPU; 300 for a quick look)",
    )
    p.add_argument(
        "--voynov-batch", type=int, default=128, help="Voynov–Babenko batch size (default 128, Schön's)"
    )
    p.add_argument(
        "--voynov-baseline-steps",
        type=int,
        default=None,
        help="steps of the random-A and axes-A RCA baselines (default: --voynov-steps)",
    )
    p.add_argument("--ganspace-samples", type=int, default=100_000, help="GANSpace samples (default 1e5)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="METHOD.OPTION=VALUE",
        help="any declared option of a method, e.g. voynov.lr=3e-4 or ganspace.layer=main.1 (repeatable)",
    )
    p.add_argument("--starts", type=int, default=8, help="starting latents per direction (default 8)")
    p.add_argument("--regressor", default=None, help="factor-regressor file: loaded if present, else saved")
    p.add_argument("--strips", default=None, metavar="DIR", help="write a labelled strip grid per method")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--markdown", action="store_true", help="print markdown tables (the default)")


def heavy_warning(args: argparse.Namespace) -> str | None:
    """The warning printed before a long Voynov–Babenko run, or None."""
    if "voynov" not in args.methods or args.voynov_steps < HEAVY_VOYNOV_STEPS:
        return None
    return (
        f"warning: Voynov–Babenko for {args.voynov_steps} steps (and as many per baseline) takes "
        "15–83 min on a 2-core CPU at the default 3000; pass --voynov-steps 300 for a quick look, "
        "or leave voynov out of --methods"
    )


def run(args: argparse.Namespace) -> int:
    warning = heavy_warning(args)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    from latentviz.core.loading import load_model
    from latentviz.directions.evaluation import evaluate_directions
    from latentviz.directions.registry import parse_assignment

    options: dict[str, dict] = {
        "voynov": {
            "steps": args.voynov_steps,
            "batch_size": args.voynov_batch,
            "baseline_steps": args.voynov_baseline_steps,
        },
        "ganspace": {"n_samples": args.ganspace_samples},
    }
    for text in args.option:  # read before loading the model: a typo fails at once
        method, name, value = parse_assignment(text)
        options.setdefault(method, {})[name] = value
    generator = load_model(
        args.model, args.device, role="generator", latent_shape=args.latent_shape, flag="--model"
    )
    ev = evaluate_directions(
        generator,
        args.methods,
        k=args.k,
        regressor=args.regressor,
        method_options=options,
        n_starts=args.starts,
        strips_dir=args.strips,
        seed=args.seed,
        progress=not args.quiet,
    )
    if args.json:
        print_json(ev.to_dict())
    else:
        print(ev.to_markdown())
    return 0
