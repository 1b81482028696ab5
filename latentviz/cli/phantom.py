"""``latentviz phantom KIND``: render a phantom dataset with its ground truth to disk."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from latentviz.cli import print_json

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]

HELP = "render a phantom dataset (cxr, ct, brain, their -hard variants) with labels, masks, factors"
DESCRIPTION = (
    "Render N phantom images of KIND with their labels, pathology masks and ground-truth "
    "factors. Writes DIR/KIND_images.npz (images, raw, labels, masks, factor_<name> arrays, "
    "window, meta as a JSON string) and DIR/KIND_gallery.png, and prints a summary."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from latentviz.data.phantoms import KINDS

    p.add_argument("kind", choices=KINDS, help="which phantom")
    p.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels: 64, 128 or 256 (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("phantoms"), help="output folder (default ./phantoms)")
    p.add_argument("--positive-fraction", type=float, default=0.5, help="fraction of positives (default 0.5)")
    p.add_argument(
        "--difficulty",
        type=float,
        default=None,
        help="hard kinds only: 0 (the plain phantom's lesions) … 1 (smallest, faintest); default 0.25",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from latentviz.data.phantoms import generate
    from latentviz.data.phantoms.gallery import save_gallery

    t0 = time.perf_counter()
    batch = generate(
        args.kind,
        args.n,
        size=args.size,
        seed=args.seed,
        positive_fraction=args.positive_fraction,
        difficulty=args.difficulty,
    )
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    npz_path = out / f"{args.kind}_images.npz"
    meta = {"kind": args.kind, "n": args.n, "size": args.size, "seed": args.seed, **batch.meta}
    np.savez_compressed(
        npz_path,
        images=batch.images,
        raw=batch.raw,
        labels=batch.labels,
        masks=batch.masks,
        window=np.asarray(batch.window, dtype=np.float64),
        factor_names=np.asarray(list(batch.factors)),
        meta=np.asarray(json.dumps(meta)),
        **{f"factor_{k}": v for k, v in batch.factors.items()},
    )
    gallery_path = save_gallery(batch, out / f"{args.kind}_gallery.png")
    positives = batch.labels == 1
    summary = {
        "kind": args.kind,
        "n": len(batch),
        "size": batch.size,
        "seed": args.seed,
        "positives": int(positives.sum()),
        "window": list(batch.window),
        "units": batch.meta.get("units", ""),
        "raw_range": [float(batch.raw.min()), float(batch.raw.max())],
        "mean_mask_fraction_positives": float(batch.masks[positives].mean()) if positives.any() else 0.0,
        "factors": {k: [float(v.min()), float(v.max())] for k, v in batch.factors.items()},
        "seconds": round(seconds, 4),
        "images_per_second": round(len(batch) / max(seconds, 1e-9), 1),
        "files": {"images": str(npz_path), "gallery": str(gallery_path)},
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"{args.kind}: {summary['n']} images of {batch.size}x{batch.size} "
            f"({summary['positives']} positive) in {seconds:.2f} s "
            f"({summary['images_per_second']:.0f} img/s); window {batch.window} {summary['units']}"
        )
        print(f"  wrote {npz_path}")
        print(f"  wrote {gallery_path}")
    return 0
