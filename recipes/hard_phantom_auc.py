"""The difficulty knob of a hard phantom against a classifier's ROC AUC.

    python recipes/hard_phantom_auc.py                         # ct-hard at 0, 0.25, 0.5, 0.75, 1
    python recipes/hard_phantom_auc.py --kind cxr-hard --difficulties 0 0.25 0.5 1
    python recipes/hard_phantom_auc.py --difficulties 0.5 --steps 300 --out /tmp/auc

For each difficulty: ``--n-train`` phantoms of ``--kind`` (seed 0) written to an ``.npz``, a
zoo-architecture classifier trained on them with ``latentviz.models.training.fit`` (the
same trainer as ``latentviz train classifier``), and its ROC AUC on ``--n-test`` fresh
phantoms of the same difficulty (seed 90001, as the zoo's quality gate). Writes
``auc.json`` and prints one markdown row per difficulty. The target is a zoo classifier
with an AUC in 0.85 … 0.95 at the default difficulty.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentviz.data.phantoms import HARD_KINDS, generate  # noqa: E402
from latentviz.models.io import load_wrapped  # noqa: E402
from latentviz.models.training import TrainConfig, fit  # noqa: E402

TEST_SEED = 90001


def auc_at(
    difficulty: float, out: Path, n_train: int, n_test: int, steps: int, batch: int, kind: str = "ct-hard"
) -> dict:
    """Train on ``difficulty`` and measure the held-out AUC."""
    import torch
    from sklearn.metrics import roc_auc_score

    run = out / kind / f"d{difficulty:.2f}"
    run.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    train = generate(kind, n_train, seed=0, difficulty=difficulty)
    npz = run / "train.npz"
    np.savez(npz, images=train.images, labels=train.labels)
    cfg = TrainConfig(kind="classifier", data=str(npz), out=run, steps=steps, batch_size=batch,
                      n_train=n_train, progress=False, checkpoint_every=max(steps, 1))  # fmt: skip
    fit(cfg)
    clf = load_wrapped(run / "model", device="cpu")
    test = generate(kind, n_test, seed=TEST_SEED, difficulty=difficulty)
    x = torch.as_tensor(test.images)
    with torch.inference_mode():
        p = torch.cat([clf.probability(x[i : i + 256]) for i in range(0, len(x), 256)]).numpy()
    return {
        "kind": kind,
        "difficulty": difficulty,
        "auc": float(roc_auc_score(test.labels, p)),
        "accuracy": float(((p > 0.5) == test.labels).mean()),
        "n_train": n_train,
        "n_test": n_test,
        "steps": steps,
        "batch_size": batch,
        "seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", default="ct-hard", choices=HARD_KINDS)
    ap.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--n-train", type=int, default=4096)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "hard_auc")
    args = ap.parse_args(argv)
    rows = []
    for d in args.difficulties:
        rows.append(auc_at(d, args.out, args.n_train, args.n_test, args.steps, args.batch_size, args.kind))
        r = rows[-1]
        print(f"| {d:.2f} | {r['auc']:.4f} | {r['accuracy']:.3f} | {r['seconds']:.0f} s |", flush=True)
    (args.out / args.kind / "auc.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
