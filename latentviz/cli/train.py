"""``latentviz train``: train a classifier, GAN, VAE or medXGAN on phantoms or your images."""

from __future__ import annotations

import argparse
import os
import shlex

from latentviz.models.training import KINDS, TrainConfig, fit
from latentviz.models.training.common import IMAGE_SIZES

HELP = "train a classifier, DCGAN, VAE, medXGAN, StyleGAN2 or style-based autoencoder"
DESCRIPTION = (
    "Train a model with a progress bar; losses go to OUT/losses.csv, sample grids to "
    "OUT/samples/, checkpoints to OUT/checkpoint.pt (resume with --resume), and the final "
    "weights to OUT/model.safetensors + OUT/model.json. --nproc N (or torchrun) trains with N "
    "DDP processes; rank 0 writes, every rank resumes from OUT/checkpoint.pt."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=KINDS, help="what to train")
    p.add_argument(
        "--data", required=True, help="phantom kind (cxr, ct, brain) or a path to images (.npz or folder)"
    )
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument(
        "--size",
        type=_image_size,
        default=64,
        help=f"image size in px: a power of two from {IMAGE_SIZES[0]} to {IMAGE_SIZES[-1]} "
        "(default 64; the zoo uses 64 and 128)",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=1,
        help="1: grey (default); 3: RGB (colour images keep their colour, grey ones are repeated)",
    )
    p.add_argument(
        "--window",
        type=_window,
        default=None,
        metavar="C,W|PRESET",
        help="intensity window of grey images (DICOM, NIfTI, grey PNG) in their stored units: "
        "center,width (e.g. 40,80 in HU; a negative center needs '=': --window=-600,1500) or a CT "
        "preset (lung, mediastinum, soft_tissue, bone, brain); default: each file's own window "
        "(DICOM header, PNG bit depth), else its 0.5-99.5 percentiles. Colour images under "
        "--channels 3 are read as they are. A fixed window is recorded on the model card",
    )
    p.add_argument(
        "--positive-class",
        default=None,
        metavar="NAME",
        help="a class folder name (or index). classifier: the class explanations target (default: "
        "index 1, the second folder in sorted order). medxgan: the class z2 != 0 renders among the "
        "classifier's classes (default: the classifier's target)",
    )
    p.add_argument("--steps", type=_positive, default=1000, help="optimisation steps (default 1000)")
    p.add_argument("--batch-size", type=_positive, default=64, help="batch size (default 64)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, init and batches (default 0)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
    p.add_argument("--classifier", default=None, help="medxgan: frozen classifier, weights path or zoo name")
    p.add_argument(
        "--lambda-cls", type=float, default=1.0, help="medxgan: weight of the classifier CE (default 1)"
    )
    p.add_argument("--latent-dim", type=int, default=None, help="latent size (medxgan: z1 size)")
    p.add_argument("--pathology-dim", type=int, default=None, help="medxgan: z2 size (default 10)")
    p.add_argument("--width", type=int, default=None, help="channel width of the architecture")
    p.add_argument(
        "--architecture", default=None, help="classifier: cnn-classifier (default) or resnet18-classifier"
    )
    p.add_argument("--encoder", choices=("w", "w+"), default=None, help="gaan: encode into W (default) or W+")
    p.add_argument(
        "--r1-gamma", type=float, default=None, help="stylegan/gaan: R1 weight (default 0.0002·size²/batch)"
    )
    p.add_argument(
        "--init-from",
        default=None,
        metavar="MODEL",
        help="stylegan/gaan: start the generator (and a gaan's encoder, if it has one) from a saved "
        "style generator of the same architecture, a zoo name or weights path; the discriminator "
        "starts fresh (a checkpoint given by --resume takes precedence)",
    )
    p.add_argument("--n-train", type=_positive, default=4096, help="phantom images to generate for training")
    p.add_argument("--checkpoint-every", type=_positive, default=500, help="steps between checkpoints")
    p.add_argument("--sample-every", type=_positive, default=500, help="steps between PNG sample grids")
    p.add_argument(
        "--early-step", type=int, default=None, help="also export the model at this step (baseline)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--nproc",
        type=_positive,
        default=1,
        help="training processes (DDP: gloo on CPU, nccl with one GPU each); --batch-size is the "
        "global batch. Under torchrun, leave it at 1: RANK/WORLD_SIZE are detected",
    )


def _positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return v


def _image_size(text: str) -> int:
    """``--size``: exactly the range its help states."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v not in IMAGE_SIZES:
        raise argparse.ArgumentTypeError(
            f"must be a power of two from {IMAGE_SIZES[0]} to {IMAGE_SIZES[-1]} "
            f"({', '.join(map(str, IMAGE_SIZES))}), got {text}"
        )
    return v


def _window(text: str) -> str:
    """``--window``: ``C,W`` or a preset name, checked here and parsed by :func:`parse_window`."""
    from latentviz.errors import ArgumentError

    try:
        parse_window(text)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_window(text: str | None) -> tuple[float, float] | str | None:
    """``"C,W"`` → ``(C, W)``; a preset name stays a name (checked against the presets).

    Raises
    ------
    ArgumentError
        Not two numbers, a non-positive width, or an unknown preset.
    """
    from latentviz.data.windowing import PRESETS, resolve_window
    from latentviz.errors import ArgumentError

    if text is None:
        return None
    if "," in text:
        parts = text.split(",")
        try:
            center, width = (float(v) for v in parts)
        except ValueError:
            raise ArgumentError(f"window {text!r}: give center,width as two numbers, e.g. 40,80") from None
        return resolve_window((center, width))
    name = text.lower().replace("-", "_").replace(" ", "_")
    if name not in PRESETS:
        raise ArgumentError(f"unknown window {text!r}; use center,width or one of {sorted(PRESETS)}")
    return name


def recipe_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (recorded in the model card), without --out."""
    parts = ["latentviz", "train", args.kind]
    for key, value in sorted(vars(args).items()):
        skip = ("kind", "out", "resume", "no_progress", "device", "command", "nproc")
        if key in skip or key.startswith("_"):
            continue
        if value is None or value is False or (key == "channels" and value == 1):
            continue  # (grey runs keep the recipe they always had)
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts += [flag]
        elif str(value).startswith("-"):  # --window=-600,1500: argparse would read an option
            parts += [f"{flag}={value}"]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    extra: dict = {"recipe": recipe_command(args)}
    if getattr(args, "encoder", None):
        extra["encoder_space"] = args.encoder
    if getattr(args, "r1_gamma", None) is not None:
        extra["r1_gamma"] = args.r1_gamma
    if args.architecture:
        extra["architecture"] = args.architecture
    if getattr(args, "init_from", None):
        if args.kind not in ("stylegan", "gaan"):
            from latentviz.errors import ArgumentError

            raise ArgumentError(f"--init-from is for stylegan and gaan runs, not {args.kind}")
        extra["init_from"] = args.init_from
    return TrainConfig(
        kind=args.kind,
        data=args.data,
        out=args.out,
        size=args.size,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        resume=args.resume,
        device=args.device,
        n_train=args.n_train,
        latent_dim=args.latent_dim,
        pathology_dim=args.pathology_dim,
        width=args.width,
        classifier=args.classifier,
        lambda_cls=args.lambda_cls,
        checkpoint_every=args.checkpoint_every,
        sample_every=args.sample_every,
        early_step=args.early_step,
        progress=not args.no_progress,
        extra=extra,
        channels=args.channels,
        window=parse_window(args.window),
        positive_class=args.positive_class,
    )


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.nproc > 1:
        from latentviz.models.training.distributed import launch

        result = launch(cfg, args.nproc)
    else:
        result = fit(cfg)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 reports
    losses = ", ".join(f"{k} {v:.4g}" for k, v in result["last_losses"].items())
    print(f"trained {args.kind} for {result['steps']} steps in {result['train_seconds']:.1f} s: {losses}")
    print(f"weights: {result['model']}")
    return 0
