"""Weights I/O without pickle: ``<name>.safetensors`` plus a ``<name>.json`` sidecar.

The sidecar records the architecture and its constructor arguments (so the loader can
rebuild the module from :data:`latentviz.models.architectures.ARCHITECTURES`), what the
model was trained on, and the sha256 of the weights file, which :func:`load_model`
checks before reading a single tensor. The same JSON is the model card of the zoo.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from latentviz.errors import ChecksumError, ModelFileError
from latentviz.models.architectures import ARCHITECTURES, build
from latentviz.models.classifier import Classifier
from latentviz.models.device import pick_device
from latentviz.models.generator import Generator

__all__ = [
    "file_sha256",
    "load_config",
    "load_model",
    "load_wrapped",
    "model_paths",
    "save_model",
    "update_config",
    "wrap_module",
]

FORMAT_VERSION = 1
# Architectures wrapped as a StyleGenerator (latent spaces z / w / w+).
STYLE_ARCHITECTURES = ("stylegan2", "style-gaan")


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, config)`` paths for ``path`` given with or without a suffix."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(
    module: nn.Module,
    config: dict,
    path: str | Path,
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """Save ``module``'s state as safetensors and ``config`` as the JSON sidecar.

    Parameters
    ----------
    module
        The model; its ``state_dict`` is saved (buffers included).
    config
        Must hold ``architecture`` (a registry name) and ``kwargs`` (its constructor
        arguments); anything else JSON-serialisable (data, steps, seed, quality, …) is kept.
        ``sha256``, ``weights_dtype`` and ``file_bytes`` are filled in.
    path
        Destination without suffix (``out/model`` → ``out/model.safetensors`` + ``.json``).
    dtype
        Store floating tensors in this dtype (``torch.float16`` halves the file);
        :func:`load_model` loads them back as float32.

    Returns
    -------
    Path
        The weights file.
    """
    if "architecture" not in config or config["architecture"] not in ARCHITECTURES:
        raise ModelFileError(
            f"config needs a registered 'architecture' (one of {sorted(ARCHITECTURES)}), "
            f"got {config.get('architecture')!r}"
        )
    weights, sidecar = model_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in module.state_dict().items():
        t = v.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        state[k] = t.contiguous()
    save_file(state, str(weights), metadata={"architecture": config["architecture"]})
    cfg = dict(config)
    cfg["format_version"] = FORMAT_VERSION
    cfg["kwargs"] = dict(cfg.get("kwargs", {}))
    cfg["weights_file"] = weights.name
    cfg["weights_dtype"] = str(dtype or torch.float32).replace("torch.", "")
    cfg["file_bytes"] = weights.stat().st_size
    cfg["sha256"] = file_sha256(weights)
    sidecar.write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")
    return weights


def load_config(path: str | Path) -> dict:
    """Read and validate the JSON sidecar of a weights file."""
    _, sidecar = model_paths(path)
    if not sidecar.is_file():
        raise ModelFileError(f"{sidecar}: no config sidecar beside the weights (save with save_model)")
    try:
        cfg = json.loads(sidecar.read_text())
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{sidecar}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    for key in ("architecture", "kwargs", "sha256"):
        if key not in cfg:
            raise ModelFileError(f"{sidecar}: config lacks {key!r}")
    return cfg


def update_config(path: str | Path, **fields: object) -> dict:
    """Merge ``fields`` into a sidecar (e.g. measured quality); the weights are untouched."""
    _, sidecar = model_paths(path)
    cfg = load_config(path)
    cfg.update(fields)
    sidecar.write_text(json.dumps(cfg, indent=2) + "\n")
    return cfg


def load_model(
    path: str | Path,
    *,
    architecture: str | None = None,
    latent_dim: int | None = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict]:
    """Rebuild a module from its sidecar and load its weights (never pickle).

    Parameters
    ----------
    path
        The weights file, its sidecar, or their common stem.
    architecture
        If given, refuse a file of another architecture.
    latent_dim
        If given, refuse a generator of another latent size.
    device
        Where to put the module.

    Returns
    -------
    (module, config)
        The module in eval mode, float32, and the sidecar dict.

    Raises
    ------
    ModelFileError
        Missing file, wrong architecture, mismatched latent size, missing or extra keys,
        tensor shapes that do not fit the architecture, a file safetensors cannot read.
    ChecksumError
        The weights' sha256 differs from the sidecar's (a tampered or truncated file).
    """
    weights, sidecar = model_paths(path)
    if not weights.is_file():
        raise ModelFileError(f"{weights}: no such weights file")
    cfg = load_config(path)
    arch = cfg["architecture"]
    if architecture is not None and arch != architecture:
        raise ModelFileError(f"{weights}: holds a {arch!r} model, but a {architecture!r} was asked for")
    if arch not in ARCHITECTURES:
        raise ModelFileError(f"{sidecar}: unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    kwargs = dict(cfg["kwargs"])
    have = _config_latent_dim(kwargs)
    if latent_dim is not None and have is not None and have != latent_dim:
        raise ModelFileError(f"{weights}: latent size is {have}, but {latent_dim} was asked for")
    digest = file_sha256(weights)
    if digest != cfg["sha256"]:
        raise ChecksumError(
            f"{weights}: sha256 {digest[:16]}… differs from {cfg['sha256'][:16]}… recorded in "
            f"{sidecar.name}; the file was modified or is incomplete — refusing to load it"
        )
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"{weights}: not a readable safetensors file ({exc})") from exc
    module = build(arch, **kwargs)
    _load_state(module, state, weights, have)
    return module.to(device).eval(), cfg


def _config_latent_dim(kwargs: dict) -> int | None:
    if "latent_dim" in kwargs:
        return int(kwargs["latent_dim"])
    if "anatomy_dim" in kwargs and "pathology_dim" in kwargs:
        return int(kwargs["anatomy_dim"]) + int(kwargs["pathology_dim"])
    return None


def _load_state(module: nn.Module, state: dict, weights: Path, latent_dim: int | None) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise ModelFileError(
            f"{weights}: weights do not fit the architecture — missing keys {missing[:5]}"
            f"{'…' if len(missing) > 5 else ''}, unexpected keys {extra[:5]}{'…' if len(extra) > 5 else ''}"
        )
    for k, t in own.items():
        if tuple(state[k].shape) != tuple(t.shape):
            hint = ""
            if k.startswith("latent_layer.weight") and latent_dim is not None:
                hint = f" (latent size: config says {latent_dim}, weights have {state[k].shape[-1]})"
            raise ModelFileError(
                f"{weights}: tensor {k!r} has shape {tuple(state[k].shape)}, the architecture "
                f"wants {tuple(t.shape)}{hint}"
            )
        if t.is_floating_point():
            state[k] = state[k].to(t.dtype)
    module.load_state_dict(state, strict=True)


def wrap_module(
    module: nn.Module, cfg: dict, device: str | torch.device | None = None
) -> Generator | Classifier:
    """Wrap a loaded latentviz module as a :class:`Generator` or :class:`Classifier`."""
    arch = cfg["architecture"]
    role = ARCHITECTURES[arch][1]
    name = cfg.get("name", arch)
    if role == "classifier":
        return Classifier(
            module,
            output="logits",
            activation=cfg.get("activation", "softmax"),
            target=int(cfg.get("target", 1)),
            target_names=cfg.get("target_names", ("negative", "positive")),
            gradcam_layer=module.gradcam_layer,
            name=name,
            device=pick_device(device),
            config=cfg,
        )
    if role != "generator":
        raise ModelFileError(f"a {arch!r} ({role}) cannot be wrapped as a generator or classifier")
    size = int(cfg["kwargs"].get("image_size", 64))
    if arch in STYLE_ARCHITECTURES:
        from latentviz.models.style import StyleGenerator

        chans = int(cfg["kwargs"].get("image_channels", 1))
        return StyleGenerator(
            module,
            cfg.get("latent_space", "w"),
            truncation=float(cfg.get("truncation", 1.0)),
            clamp_output=bool(cfg.get("clamp_output", False)),
            name=name,
            device=device,
            config={**cfg, "image_shape": (chans, size, size)},
        )
    extra: dict = {"config": {**cfg, "image_shape": (int(cfg["kwargs"].get("channels", 1)), size, size)}}
    if arch == "vae":
        extra["encoder"] = module.encode
    if arch == "medxgan":
        extra["split_sizes"] = module.split_sizes
    return Generator(module, (module.latent_dim,), "z", name=name, device=device, **extra)


def load_wrapped(
    path: str | Path, device: str | torch.device | None = None, **checks: object
) -> Generator | Classifier:
    """:func:`load_model`, then :func:`wrap_module`: a ready-to-use generator or classifier."""
    module, cfg = load_model(path, **checks)
    return wrap_module(module, cfg, device=device)
