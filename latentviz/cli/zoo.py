"""``latentviz zoo``: the bundled models and their cards."""

from __future__ import annotations

import argparse

from latentviz import zoo
from latentviz.cli import print_json

HELP = "list the bundled models (name, kind, size, recipe, training time, quality)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="zoo_command", metavar="ACTION")
    lst = sub.add_parser("list", help="one line per bundled model")
    fmt = lst.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the full cards as JSON")
    fmt.add_argument("--markdown", action="store_true", help="print a markdown table (docs/zoo.md)")


def _quality(q: dict) -> str:
    if "auc" in q:
        return f"AUC {q['auc']:.4f}, acc {q['accuracy']:.3f}"
    parts = []
    if "medxgan" in q:
        parts.append(f"disentangled {q['medxgan']['disentanglement']:.3f}")
    rec = q.get("reconstruction", {})
    if "mse" in rec:
        parts.append(f"recon MSE {rec['mse']:.4f}")
    if "encoder" in rec:  # style-based autoencoders: PSNR of G(E(x)), then after refinement
        enc = f"recon PSNR {rec['encoder']['psnr_median']:.1f} dB"
        if "refined" in rec:
            enc += f" ({rec['refined']['psnr_median']:.1f} dB refined)"
        parts.append(enc)
    if "realism" in q:
        r = q["realism"]
        base = f" (early {r['fd_baseline']:.3g})" if "fd_baseline" in r else ""
        if "fd_dcgan_same_run" in r:
            base += f" (DCGAN {r['fd_dcgan_same_run']:.3g})"
        parts.append(f"FD {r['fd_model']:.3g}{base}, real {r['fd_real_vs_real']:.2g}")
        if "factor_fd_model" in r:
            fbase = f" (early {r['factor_fd_baseline']:.3g})" if "factor_fd_baseline" in r else ""
            parts.append(
                f"factor FD {r['factor_fd_model']:.3g}{fbase}, real {r['factor_fd_real_vs_real']:.2g}"
            )
    return "; ".join(parts)


def markdown(cards) -> str:
    """The cards as a markdown table and a list of recipes (the body of ``docs/zoo.md``)."""
    rows = [
        "| model | kind | px | latent | MB | trained | on | quality |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cards:
        t = f"{c.train_seconds:.0f} s" if c.train_seconds is not None else "?"
        rows.append(
            f"| `{c.name}` | {c.kind} | {c.image_size} | {c.latent_dim or '-'} | "
            f"{c.file_bytes / 1e6:.2f} | {t} | {c.device} | {_quality(c.quality)} |"
        )
    rows += ["", "Recipes (`DIR` is the run folder):", ""]
    rows += [f"- `{c.name}`: `{c.recipe}`" for c in cards]
    return "\n".join(rows) + "\n"


def run(args: argparse.Namespace) -> int:
    if getattr(args, "zoo_command", None) != "list":
        print("usage: latentviz zoo list [--json]")
        return 1
    cards = zoo.list_models()
    if args.json:
        print_json([c.to_dict() for c in cards])
        return 0
    if args.markdown:
        print(markdown(cards), end="")
        return 0
    for c in cards:
        t = f"{c.train_seconds:.0f} s" if c.train_seconds is not None else "?"
        print(
            f"{c.name:16} {c.kind:10} {c.image_size:>3} px  latent {c.latent_dim or '-':>3}  "
            f"{c.file_bytes / 1e6:5.2f} MB  trained {t} on {c.device}"
        )
        print(f"{'':16} quality: {_quality(c.quality)}")
        print(f"{'':16} recipe:  {c.recipe}")
    total = sum(c.file_bytes for c in cards)
    print(f"{len(cards)} models, {total / 1e6:.1f} MB")
    return 0
