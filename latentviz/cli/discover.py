"""``latentviz discover``: find latent directions with one method; write the set and a strip grid."""

from __future__ import annotations

import argparse

from latentviz.cli import print_json
from latentviz.errors import ModelFileError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "discover latent directions (sefa, ganspace, voynov, probe, centroid) and draw them"
METHODS = ("sefa", "ganspace", "voynov", "probe", "centroid")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="zoo generator name (e.g. ct-dcgan)")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--out", required=True, help="direction-set path: writes OUT.npz, OUT.json and OUT.png")
    p.add_argument("--k", type=int, default=None, help="number of directions (default: method's)")
    p.add_argument("--samples", type=int, default=None, help="ganspace/probe samples, centroid images")
    p.add_argument("--layer", default=None, help="ganspace: layer name for activation PCA")
    p.add_argument("--steps", type=int, default=3000, help="voynov: training steps (default 3000)")
    p.add_argument("--variant", choices=["linear", "proj", "ortho"], default="proj", help="voynov matrix")
    p.add_argument("--reconstructor", choices=["lenet", "resnet"], default="lenet")
    p.add_argument("--batch-size", type=int, default=128, help="voynov batch (default 128)")
    p.add_argument("--lr", type=float, default=1e-4, help="voynov Adam lr (default 1e-4)")
    p.add_argument("--no-baselines", action="store_true", help="voynov: skip the random/axes RCA baselines")
    p.add_argument("--checkpoint", default=None, help="voynov: resumable safetensors checkpoint")
    p.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="voynov: bf16 mixed precision where native (auto, the default), or fp32",
    )
    p.add_argument("--factors", nargs="+", default=None, help="probe factors / centroid stratifying factor")
    p.add_argument("--strata", type=int, default=5, help="centroid strata (default 5)")
    p.add_argument("--strip-rows", type=int, default=8, help="directions shown in the strip (default 8)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per direction in the strip (default 3)")
    p.add_argument("--no-strip", action="store_true", help="do not draw the PNG strip grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args: argparse.Namespace) -> int:
    from latentviz import zoo
    from latentviz.directions.discover import discover
    from latentviz.directions.strips import strip_grid

    generator = zoo.load(args.model, device=args.device)
    if not hasattr(generator, "sample_latents"):
        raise ModelFileError(f"{args.model} is a classifier, not a generator")
    ds = discover(
        generator,
        args.method,
        args.k,
        factors=args.factors,
        n_samples=args.samples,
        layer=args.layer,
        steps=args.steps,
        variant=args.variant,
        reconstructor=args.reconstructor,
        batch_size=args.batch_size,
        lr=args.lr,
        baselines=not args.no_baselines,
        checkpoint=args.checkpoint,
        precision=args.precision,
        n_strata=args.strata,
        seed=args.seed,
        progress=not args.quiet,
    )
    npz, sidecar = ds.save(args.out)
    png = None
    if not args.no_strip:
        png = npz.with_suffix(".png")
        rows = list(range(min(args.strip_rows, len(ds))))
        strip_grid(
            generator,
            ds,
            keys=rows,
            seeds=range(args.seeds),
            path=png,
            title=f"{args.model}: {args.method} directions (rows: direction, seed; columns: shift)",
        )
    summary = {
        "model": args.model,
        "method": args.method,
        "directions": len(ds),
        "names": ds.names,
        "scores": ds.scores,
        "files": [str(npz), str(sidecar)] + ([str(png)] if png else []),
        "params": {k: v for k, v in ds.params.items() if not isinstance(v, list) or len(v) <= 40},
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"{args.method}: {len(ds)} directions for {args.model} → {npz}, {sidecar}"
            + (f", {png}" if png else "")
        )
        for name, score in zip(ds.names, ds.scores):
            print(f"  {name:32s} score {score:.4g}")
    return 0
