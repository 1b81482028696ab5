"""Out-of-distribution statistics for every zoo classifier, written onto its model card.

    python recipes/ood_statistics.py                   # every zoo classifier
    python recipes/ood_statistics.py --names ct-classifier --n-train 2000 --n-holdout 1000

For each classifier: penultimate features of ``--n-train`` fresh phantoms of the kind it
was trained on (the same generator as its training set, other seeds) give the class means
and the shared covariance; ``--n-holdout`` phantoms of another seed calibrate the threshold
(the ``--percentile`` of their Mahalanobis distances). The means and the precision matrix
go to ``<name>.ood.safetensors`` beside the weights (float32, a few tens of KB); the card
gets an ``ood`` entry (method, threshold, percentile, file, sha256, seeds, counts) and its
``training_data`` (modality, photometric, what the phantoms imitate). The weights and their
sha256 are untouched. About 10 s per classifier on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentviz import zoo  # noqa: E402
from latentviz.data.phantoms import generate  # noqa: E402
from latentviz.models import ood  # noqa: E402
from latentviz.models.io import update_config  # noqa: E402

TRAIN_SEED, HOLDOUT_SEED = 70001, 70002  # neither the training (0) nor the quality (90001) seed


def statistics_for(name: str, n_train: int, n_holdout: int, percentile: float) -> dict:
    """Fit, save and record the statistics of zoo classifier ``name``; returns its card entry."""
    t0 = time.perf_counter()
    clf = zoo.load(name, device="cpu")
    kind = str(clf.config["data"])
    size = int(clf.config.get("image_size", 64))
    train = generate(kind, n_train, size=size, seed=TRAIN_SEED, progress=False)
    holdout = generate(kind, n_holdout, size=size, seed=HOLDOUT_SEED, progress=False)
    stats = ood.fit_feature_statistics(
        ood.classifier_features(clf, train.images),
        train.labels,
        ood.classifier_features(clf, holdout.images),
        percentile=percentile,
    )
    path = stats.save(zoo.WEIGHTS_DIR / f"{name}{ood.OOD_SUFFIX}")
    entry = ood.card_entry(
        stats,
        path,
        n_train=n_train,
        n_holdout=n_holdout,
        train_seed=TRAIN_SEED,
        holdout_seed=HOLDOUT_SEED,
        recipe=f"python recipes/ood_statistics.py --names {name} --n-train {n_train} "
        f"--n-holdout {n_holdout} --percentile {percentile:g}",
    )
    update_config(zoo.path_of(name), ood=entry, training_data=ood.PHANTOM_ACQUISITION[kind])
    print(f"{name}: threshold {entry['threshold']:.3f} ({time.perf_counter() - t0:.1f} s)")
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--names", nargs="+", default=None, help="zoo classifiers (default: all)")
    p.add_argument("--n-train", type=int, default=2000, help="phantoms for the means/covariance")
    p.add_argument("--n-holdout", type=int, default=1000, help="phantoms calibrating the threshold")
    p.add_argument("--percentile", type=float, default=99.0, help="threshold percentile of held-out")
    args = p.parse_args(argv)
    names = args.names or [c.name for c in zoo.list_models() if c.kind == "classifier"]
    np.set_printoptions(precision=3)
    for name in names:
        statistics_for(name, args.n_train, args.n_holdout, args.percentile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
