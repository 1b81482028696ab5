"""``latentviz batch {encode,explain,evaluate}``: a whole cohort on dask.distributed."""

from __future__ import annotations

import argparse
import os

from latentviz.batch.jobs import COMMANDS, JobOptions, summary_table
from latentviz.batch.runner import prepare_job, run_dask, run_local, start_client
from latentviz.cli import MODEL_FORMS
from latentviz.explain import registry

HELP = "encode / explain / evaluate a cohort in batches on dask (a local cluster or yours)"
DESCRIPTION = (
    "Run a cohort through the models in batches on dask.distributed and write a resumable "
    "results store (STORE/manifest.json + STORE/parts/part-*.npz). encode: latents, classifier "
    "probability, inversion fidelity; explain: + counterfactual and attribution maps, localisation "
    "metrics where a lesion mask exists; evaluate: metrics only (+ deletion/insertion), then a table. "
    "Without --scheduler a LocalCluster of --workers processes starts on 127.0.0.1; --workers 0 runs "
    "in this process without dask. A run that was interrupted resumes: finished parts are kept."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("job", choices=COMMANDS, help="what to compute for every image")
    p.add_argument("--data", required=True, help="phantom:KIND[:N], an .npz, or a folder of images")
    p.add_argument("--model", required=True, help=f"generator: {MODEL_FORMS}")
    p.add_argument("--classifier", required=True, help=f"classifier: {MODEL_FORMS}")
    p.add_argument("--out", required=True, help="results store folder (created, or resumed)")
    p.add_argument("--scheduler", default=None, help="address of a running dask scheduler (tcp://host:8786)")
    p.add_argument(
        "--workers", type=_count, default=2, help="LocalCluster worker processes (0: no dask; default 2)"
    )
    p.add_argument(
        "--batch-size", type=_count, default=32, help="images per task and store part (default 32)"
    )
    p.add_argument("--retries", type=_count, default=3, help="re-runs of a failed part (default 3)")
    p.add_argument(
        "--torch-threads",
        type=_count,
        default=None,
        help="torch threads per worker (default: cores / workers on a LocalCluster, else torch's)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=list(registry.default_methods()),
        choices=list(registry.keys()),
        help=f"attribution methods of explain/evaluate (default: {' '.join(registry.default_methods())})",
    )
    p.add_argument("--inversion-steps", type=_count, default=100, help="Adam steps of the inversion")
    p.add_argument("--restarts", type=_count, default=2, help="inversion restarts per image")
    p.add_argument("--no-refine", action="store_true", help="skip the inversion's L-BFGS polish")
    p.add_argument("--seed", type=int, default=0, help="seed of phantoms and inversion starts")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, … (default: auto, on each worker)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _count(text: str) -> int:
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return v


def run(args: argparse.Namespace) -> int:
    inversion: dict = {"steps": args.inversion_steps, "restarts": max(1, args.restarts)}
    if args.no_refine:
        inversion["refine"] = None
    options = JobOptions(command=args.job, methods=tuple(args.methods), inversion=inversion, seed=args.seed)
    job = prepare_job(
        args.data, args.model, args.classifier, args.out, options, max(1, args.batch_size), args.device
    )
    progress = not args.no_progress
    print(f"{job.cohort.n} images in {job.n_parts} parts; {job.n_parts - len(job.pending())} already done")
    if args.workers == 0 and not args.scheduler:
        report = run_local(job, progress=progress, torch_threads=args.torch_threads)
    else:
        client, cluster = start_client(args.scheduler, args.workers, dashboard=progress)
        try:
            threads = args.torch_threads
            if threads is None and cluster is not None:
                threads = max(1, (os.cpu_count() or 1) // args.workers)
            report = run_dask(job, client, retries=args.retries, torch_threads=threads, progress=progress)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    print(
        f"{report.parts_computed} parts computed, {report.parts_skipped} kept, on {report.workers} "
        f"worker(s): {report.images} images in {report.seconds:.1f} s "
        f"({report.images_per_second:.2f} images/s)"
    )
    print(f"store: {job.store.path}")
    if args.job == "evaluate":
        print(summary_table(job.store.read(), job.store.job))
    return 0
