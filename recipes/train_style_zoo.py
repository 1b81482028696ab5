"""Train (or resume) the style-based autoencoders of the zoo and write their model cards.

    python recipes/train_style_zoo.py --kinds ct cxr                 # train, publish, measure
    python recipes/train_style_zoo.py --kinds ct --publish-only      # publish the last checkpoint

Each kind's run is ``latentviz train gaan`` (StyleGAN2 + an encoder into W+, see
:mod:`latentviz.models.training.stylegan`) in ``--runs/<kind>-gaan``; it checkpoints every
100 steps and resumes, so it can be stopped and continued across sessions.
``--publish-only`` exports the model at the last checkpoint without training further.
The model is published as float16 safetensors (loaded back as float32) to
``latentviz/zoo/weights/<kind>-gaan`` and measured on fresh held-out phantoms beside the
zoo DCGAN of the same kind (classifier-feature Fréchet distance, same n, same seed), with
the encoder's reconstruction PSNR/SSIM on ``--n-rec`` phantoms, before and after a short
refinement by :func:`latentviz.explain.invert` on the first ``--n-refine`` of them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentviz.models import quality  # noqa: E402
from latentviz.models.io import load_model, load_wrapped, save_model  # noqa: E402


def train_command(
    kind: str,
    out: Path,
    steps: int,
    batch: int,
    width: int,
    device: str | None,
    init_from: Path | None = None,
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "latentviz",
        "train",
        "gaan",
        "--data",
        kind,
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--batch-size",
        str(batch),
        "--width",
        str(width),
        "--latent-dim",
        "64",
        "--encoder",
        "w+",
        "--n-train",
        "4096",
        "--sample-every",
        "250",
        "--checkpoint-every",
        "100",
        "--resume",
        "--no-progress",
    ]
    cmd += ["--init-from", str(init_from)] if init_from else []
    return cmd + (["--device", device] if device else [])


def last_step(run: Path) -> int:
    ckpt = run / "checkpoint.pt"
    if not ckpt.is_file():
        return 0
    return int(torch.load(ckpt, map_location="cpu", weights_only=True)["step"])


def publish(kind: str, run: Path, zoo: Path) -> Path:
    module, cfg = load_model(run / "model")
    cfg.update(
        name=f"{kind}-gaan",
        latent_space="w+",
        clamp_output=True,  # trained on [-1, 1]; StyleGAN2 has no output tanh
        note="64 px phantoms; style-based autoencoder trained by recipes/train_style_zoo.py",
    )
    return save_model(module, cfg, zoo / f"{kind}-gaan", dtype=torch.float16)


def measure(kind: str, zoo: Path, n: int, n_rec: int, n_refine: int, refine_steps: int) -> dict:
    g = load_wrapped(zoo / f"{kind}-gaan")
    clf = load_wrapped(zoo / f"{kind}-classifier")
    q: dict = {"realism": quality.realism(g, clf, kind, n=n)}
    dcgan = zoo / f"{kind}-dcgan.json"
    if dcgan.is_file():
        q["realism"]["fd_dcgan_same_run"] = quality.realism(
            load_wrapped(zoo / f"{kind}-dcgan"), clf, kind, n=n
        )["fd_model"]
    q["reconstruction"] = quality.encoder_reconstruction(g, kind, n=n_rec)
    if n_refine > 0:
        sub = quality.encoder_reconstruction(g, kind, n=n_refine, classifier=clf, refine_steps=refine_steps)
        q["reconstruction"]["refined"] = sub["refined"] | {"n": n_refine}
        q["reconstruction"]["encoder_same_images"] = sub["encoder"]
    return q


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", nargs="*", default=["ct", "cxr"])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--runs", type=Path, default=ROOT / "runs")
    p.add_argument("--zoo", type=Path, default=ROOT / "latentviz" / "zoo" / "weights")
    p.add_argument("--device", default=None)
    p.add_argument("--publish-only", action="store_true", help="export the last checkpoint, do not train")
    p.add_argument(
        "--continue-published",
        action="store_true",
        help="start a fresh run (in --runs/<kind>-gaan-continued) from the published model's generator "
        "and encoder (a fresh discriminator) and train --steps more; the card adds up both stages",
    )
    p.add_argument("--n", type=int, default=2000, help="samples of the realism measure")
    p.add_argument("--n-rec", type=int, default=200, help="held-out phantoms of the reconstruction measure")
    p.add_argument("--n-refine", type=int, default=50)
    p.add_argument("--refine-steps", type=int, default=50)
    args = p.parse_args()
    for kind in args.kinds:
        run = args.runs / (f"{kind}-gaan" + ("-continued" if args.continue_published else ""))
        steps = last_step(run) if args.publish_only else args.steps
        if steps < 1:
            raise SystemExit(f"{run}: no checkpoint to publish")
        before, init_from = None, None
        if args.continue_published:
            # Keep the published stage's weights and card: the publish below overwrites them.
            init_from = run / "init"
            published = args.zoo / f"{kind}-gaan"
            if not (init_from.with_suffix(".json")).is_file():
                run.mkdir(parents=True, exist_ok=True)
                for ext in (".json", ".safetensors"):
                    init_from.with_suffix(ext).write_bytes(published.with_suffix(ext).read_bytes())
            before = json.loads(init_from.with_suffix(".json").read_text())
        cmd = train_command(kind, run, steps, args.batch_size, args.width, args.device, init_from)
        print("$", shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        path = publish(kind, run, args.zoo)
        q = measure(kind, args.zoo, args.n, args.n_rec, args.n_refine, args.refine_steps)
        sidecar = path.with_suffix(".json")
        cfg = json.loads(sidecar.read_text())
        cfg["quality"] = q
        # The recipe recorded on the card is the full one, not the publish-only call.
        cfg["recipe"] = shlex.join(
            ["python", "recipes/train_style_zoo.py", "--kinds", kind, "--steps", str(steps)]
        )
        if before is not None:
            cfg["recipe"] = f"{before['recipe']} && {cfg['recipe']} --continue-published"
            cfg["stages"] = [
                {
                    "steps": before["steps"],
                    "train_seconds": before["train_seconds"],
                    "sha256": before["sha256"],
                },
                {"steps": steps, "train_seconds": cfg["train_seconds"], "discriminator": "fresh"},
            ]
            cfg["init_from"] = f"{kind}-gaan as published after stage 1 (sha256 in stages)"
            cfg["note"] += f"; stage 2 continued it for {steps} steps with a fresh discriminator"
            cfg["steps"] = before["steps"] + steps
            cfg["train_seconds"] = before["train_seconds"] + cfg["train_seconds"]
        sidecar.write_text(json.dumps(cfg, indent=2) + "\n")
        print(kind, json.dumps(q, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
