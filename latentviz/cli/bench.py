"""``latentviz bench``: the benchmark table."""

from __future__ import annotations

import argparse
import platform

import torch

from latentviz.bench.harness import available_areas, format_table, run_areas
from latentviz.cli import print_json

HELP = "run the benchmarks and print a table of medians and ratios"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("areas", nargs="*", help=f"areas to run (default: all of {available_areas()})")
    p.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run_areas(args.areas or None, quick=args.quick)
    machine = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    if args.json:
        print_json({"machine": machine, "rows": [r.to_dict() for r in rows]})
    else:
        print(f"# latentviz bench — torch {machine['torch']}, {machine['threads']} threads")
        print(format_table(rows))
    return 0
