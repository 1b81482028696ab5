"""Factor recovery of a style-based zoo model's directions: Z against W, all layers against ranges.

    python recipes/style_directions_eval.py --model ct-gaan --regressor runs/ct-regressor

Runs :func:`latentviz.directions.evaluation.evaluate_directions` on the model in Z (GANSpace),
in W (GANSpace-W, SeFa on style weights, all layers) and in W+ for the coarse, middle and
fine ranges, and prints one row per (space, method) with the recovered factors. The regressor
file is loaded if it exists, else trained on the model's phantom and saved there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentviz import zoo  # noqa: E402
from latentviz.directions.evaluation import evaluate_directions  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ct-gaan")
    p.add_argument("--regressor", type=Path, default=ROOT / "runs" / "ct-regressor")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--samples", type=int, default=20_000, help="GANSpace samples")
    args = p.parse_args()
    g = zoo.load(args.model, device="cpu")
    rows = []

    def run(gen, methods, opts, label):
        t0 = time.perf_counter()
        ev = evaluate_directions(
            gen, methods, k=args.k, regressor=args.regressor, method_options=opts, progress=False
        )
        for m, s in ev.summary().items():
            rows.append(
                {
                    "space": label,
                    "method": m,
                    "n_recovered": s["n_recovered"],
                    "recovered": s["recovered"],
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)

    n = {"n_samples": args.samples}
    run(g.in_space("z"), ["ganspace"], {"ganspace": n}, "Z")
    run(g.in_space("w"), ["ganspace-w", "sefa-style"], {"ganspace-w": n}, "W, all layers")
    for lay in ("coarse", "middle", "fine"):
        opts = {"ganspace-w": {**n, "layers": lay}, "sefa-style": {"layers": lay}}
        run(g.in_space("w+"), ["ganspace-w", "sefa-style"], opts, f"W+, {lay}")
    print("\n| space | method | recovered |\n|---|---|---|")
    for r in rows:
        rec = ", ".join(r["recovered"]) or "none"
        print(f"| {r['space']} | {r['method']} | {rec} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
