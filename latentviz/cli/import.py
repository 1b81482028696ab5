"""``latentviz import SRC --out DEST``: a StyleGAN2 checkpoint into latentviz's format."""

from __future__ import annotations

import argparse

from latentviz.cli import print_json

HELP = "import a StyleGAN2 checkpoint (rosinality .pt, NVIDIA .pkl) as safetensors; runs no code"
DESCRIPTION = (
    "Read the EMA generator of a rosinality/stylegan2-pytorch checkpoint (.pt/.pth, read with "
    "torch.load(weights_only=True)) or of an NVIDIA stylegan2-ada-pytorch network pickle (.pkl, read "
    "with a restricted unpickler that rebuilds tensors only and never runs code from the file), and "
    "save it as DEST.safetensors + DEST.json (architecture stylegan2, latent space W)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="checkpoint: .pt/.pth (rosinality) or .pkl (NVIDIA)")
    p.add_argument("--out", required=True, help="destination without suffix (writes .safetensors + .json)")
    p.add_argument("--name", default=None, help="model name recorded in the sidecar (default: DEST's stem)")
    p.add_argument("--json", action="store_true", help="print the saved sidecar as JSON")


def run(args: argparse.Namespace) -> int:
    from latentviz.models.stylegan_import import import_checkpoint

    cfg = import_checkpoint(args.src, args.out, name=args.name)
    if args.json:
        print_json(cfg)
        return 0
    kw = cfg["kwargs"]
    print(
        f"imported {cfg['source_format']} → {args.out}.safetensors: {kw['image_size']} px, "
        f"{kw['image_channels']} channel(s), w_dim {kw['w_dim']}, {kw['n_mlp']} mapping layers, "
        f"conv_clamp {kw.get('conv_clamp')}, w_avg from {cfg['w_avg_source']}"
    )
    return 0
