"""``latentviz discover``: find latent directions with one method; write the set and a strip grid."""

from __future__ import annotations

import argparse

from latentviz.cli import MODEL_FORMS, add_latent_shape_argument, print_json
from latentviz.errors import ArgumentError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "discover latent directions (sefa, ganspace, voynov, probe, centroid) and draw them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Methods and their option flags come from the registry (latentviz.directions.registry).
    from latentviz.directions.registry import add_option_arguments, method_names

    p.add_argument("--model", required=True, help=f"generator: {MODEL_FORMS} (e.g. ct-dcgan, dec.pt)")
    add_latent_shape_argument(p)
    p.add_argument("--method", required=True, choices=method_names())
    p.add_argument("--out", required=True, help="direction-set path: writes OUT.npz, OUT.json and OUT.png")
    methods = p.add_argument_group(
        "method options", "each flag applies to the methods it names; unset: the method's default"
    )
    add_option_arguments(methods)
    p.add_argument("--strip-rows", type=int, default=8, help="directions shown in the strip (default 8)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per direction in the strip (default 3)")
    p.add_argument("--no-strip", action="store_true", help="do not draw the PNG strip grid")
    p.add_argument(
        "--walk",
        default=None,
        metavar="FILE",
        help="also write a walk along one direction as FILE.gif or FILE.mp4 (by suffix; mp4 needs "
        "pip install 'latentviz[video]')",
    )
    p.add_argument("--walk-direction", type=int, default=0, help="direction of --walk (default 0)")
    p.add_argument("--walk-span", type=float, default=3.0, help="--walk from -SPAN to +SPAN σ (default 3)")
    p.add_argument("--walk-frames", type=int, default=16, help="frames of --walk (default 16)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def run(args: argparse.Namespace) -> int:
    from latentviz.core.loading import load_model
    from latentviz.directions.registry import DiscoveryInputs, get_method, options_from_arguments
    from latentviz.directions.strips import strip_grid

    method = get_method(args.method)
    options = method.options(**options_from_arguments(method, args))  # refuse bad flags before loading
    if args.walk is not None:
        from latentviz.core.video import video_format

        video_format(args.walk)  # an unknown suffix is refused before any work
    generator = load_model(
        args.model, args.device, role="generator", latent_shape=args.latent_shape, flag="--model"
    )
    ds = method(generator, DiscoveryInputs(progress=not args.quiet), **options.to_dict())
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
    walk = None
    if args.walk is not None:
        from latentviz.core.explorer import ExplorerSession

        if not 0 <= args.walk_direction < len(ds):
            raise ArgumentError(f"--walk-direction must be in 0..{len(ds) - 1}, got {args.walk_direction}")
        session = ExplorerSession(generator, ds)
        walk = session.export_video(
            args.walk, direction=args.walk_direction, span=args.walk_span, n_frames=args.walk_frames
        )
    summary = {
        "model": args.model,
        "method": args.method,
        "directions": len(ds),
        "names": ds.names,
        "scores": ds.scores,
        "files": [str(npz), str(sidecar)] + ([str(png)] if png else []) + ([str(walk)] if walk else []),
        "params": {k: v for k, v in ds.params.items() if not isinstance(v, list) or len(v) <= 40},
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"{args.method}: {len(ds)} directions for {args.model} → {npz}, {sidecar}"
            + (f", {png}" if png else "")
            + (f", {walk}" if walk else "")
        )
        for name, score in zip(ds.names, ds.scores):
            print(f"  {name:32s} score {score:.4g}")
    return 0
