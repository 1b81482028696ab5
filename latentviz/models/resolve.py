"""One resolver for what a user names a model by: a zoo name, a latentviz model file, or a
TorchScript file.

Every ``--model`` / ``--classifier`` flag of the CLI, the dashboard's models, the batch
workers and ``latentviz train medxgan --classifier`` go through :func:`resolve_model`:

1. a latentviz model file: ``NAME.safetensors`` with its ``NAME.json`` sidecar (the suffix
   may be left out), loaded without pickle;
2. a TorchScript file (``torch.jit.save``; any suffix): wrapped as the ``role`` asked for.
   Settings a TorchScript file cannot carry come from the arguments or from an optional
   ``NAME.json`` beside it (``{"role": "generator", "latent_shape": [16], ...}``, the keys in
   :data:`TORCHSCRIPT_KEYS`); a generator's latent shape, when nobody says it, is the one
   its first layer takes (checked with one forward pass);
3. otherwise a zoo model of that name.

A ``torch.save`` pickle is refused (latentviz never unpickles); a missing file or an unknown
name is a :class:`~latentviz.errors.ModelFileError` that says what was looked for.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Literal

import torch

from latentviz.errors import ModelFileError, ShapeError
from latentviz.models.classifier import Classifier
from latentviz.models.device import pick_device
from latentviz.models.generator import Generator, _candidate_shapes, _try_forward, check_latent_shape

__all__ = ["ROLES", "TORCHSCRIPT_KEYS", "is_torchscript", "parse_latent_shape", "resolve_model"]

Role = Literal["generator", "classifier"]
ROLES: tuple[str, ...] = ("generator", "classifier")

#: What the JSON beside a TorchScript file may set, per role (the wrapper's arguments).
TORCHSCRIPT_KEYS: dict[str, tuple[str, ...]] = {
    "generator": ("latent_shape", "latent_space", "output_range", "split_sizes", "latent_layer", "name"),
    "classifier": (
        "output",
        "activation",
        "target",
        "target_names",
        "gradcam_layer",
        "input_range",
        "in_channels",
        "name",
        "image_size",
    ),
}

# Suffixes that mean "this is a file name", so a missing one is not looked up in the zoo.
_FILE_SUFFIXES = (".pt", ".pth", ".ts", ".jit", ".torchscript", ".safetensors", ".json", ".zip")


def parse_latent_shape(text: str | int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """``"16"`` → ``(16,)``, ``"16,1,1"`` (or ``"16x1x1"``) → ``(16, 1, 1)``.

    Raises
    ------
    ShapeError
        For anything but positive integers.
    """
    if isinstance(text, int):
        parts: list[Any] = [text]
    elif isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = [p for p in str(text).replace("x", ",").replace(" ", "").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(s < 1 for s in shape):
        raise ShapeError(f"latent shape {text!r}: give positive integers, e.g. 16 or 16,1,1")
    return shape


def is_torchscript(path: str | Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip holding ``code/``), read without loading it."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n or n.startswith("code/") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _is_pickle(path: Path) -> bool:
    """A ``torch.save`` file: a zip with ``data.pkl`` but no code, or a bare pickle stream."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("data.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        pass
    try:
        with open(path, "rb") as f:
            return f.read(1) == b"\x80"  # pickle protocol 2+
    except OSError:
        return False


def _settings(path: Path) -> dict:
    """The optional ``NAME.json`` beside a TorchScript file (``{}`` without one)."""
    side = path.with_suffix(".json")
    if side == path or not side.is_file():
        return {}
    try:
        cfg = json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{side}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{side}: expected a JSON object of wrapper settings")
    if "architecture" in cfg:  # a latentviz weights sidecar of another file: not settings
        return {}
    return cfg


def _load_torchscript(
    path: Path,
    role: str | None,
    device: str | torch.device | None,
    latent_shape: Any,
    label: str,
) -> Generator | Classifier:
    settings = _settings(path)
    role = role or settings.pop("role", None)
    settings.pop("role", None)
    if role not in ROLES:
        raise ModelFileError(
            f"{label}: a TorchScript file; say whether it is a generator or a classifier "
            f"(a 'role' in {path.with_suffix('.json').name})"
        )
    unknown = sorted(set(settings) - set(TORCHSCRIPT_KEYS[role]))
    if unknown:
        raise ModelFileError(
            f"{path.with_suffix('.json')}: unknown {role} settings {unknown}; "
            f"known: {', '.join(TORCHSCRIPT_KEYS[role])}"
        )
    dev = pick_device(device)
    try:
        module = torch.jit.load(str(path), map_location=dev)
    except Exception as exc:  # torch raises RuntimeError with C++ text
        raise ModelFileError(f"{label}: not a loadable TorchScript file ({exc.__class__.__name__})") from exc
    settings.setdefault("name", path.stem)
    if role == "classifier":
        image_size = settings.pop("image_size", None)
        config = {"image_size": int(image_size)} if image_size is not None else {}
        return Classifier(module, device=dev, config={"source": "torchscript", **config}, **settings)
    shape = latent_shape if latent_shape is not None else settings.pop("latent_shape", None)
    settings.pop("latent_shape", None)
    if shape is None:  # the first candidate the module maps to (1, C, H, W) images
        found = []
        for cand in _candidate_shapes(module):
            out = _try_forward(module, cand, dev)
            if isinstance(out, torch.Tensor) and out.ndim == 4:
                found.append(cand)
        if not found:
            raise ShapeError(
                f"{label}: could not tell the latent shape of this TorchScript generator from its "
                "first layer; pass it (--latent-shape 16, or \"latent_shape\" in "
                f"{path.with_suffix('.json').name})"
            )
        shape = found[0]
    g = Generator(module, parse_latent_shape(shape), device=dev, config={"source": "torchscript"}, **settings)
    g.config["image_shape"] = check_latent_shape(g.module, g.latent_shape, g.device, path.name)
    return g


def resolve_model(
    spec: str | Path,
    *,
    role: Role | None = None,
    device: str | torch.device | None = None,
    latent_shape: str | int | tuple[int, ...] | None = None,
    flag: str | None = None,
) -> Generator | Classifier:
    """The model ``spec`` names: a latentviz model file, a TorchScript file, or a zoo name.

    Parameters
    ----------
    spec
        What the user typed.
    role
        ``"generator"`` or ``"classifier"``: what the caller needs. It tells a TorchScript
        file's role, and a model of the other role is refused.
    device
        Where to put it (default: the best available).
    latent_shape
        A TorchScript generator's latent shape (``16``, ``"16,1,1"``); default: its JSON
        settings, else what its first layer takes.
    flag
        The option's name (``"--model"``), used in messages.

    Raises
    ------
    ModelFileError
        No such file or zoo model, a pickle, a model of the other role, bad JSON settings.
    ShapeError
        A TorchScript generator that does not take ``latent_shape``.
    """
    from latentviz.models.io import load_wrapped, model_paths

    text = str(spec)
    label = f"{flag} {text}" if flag else text
    path = Path(text).expanduser()
    weights, sidecar = model_paths(path)
    if weights.is_file() and (sidecar.is_file() or not is_torchscript(weights)):
        # latentviz weights (a missing sidecar is load_wrapped's own clear error)
        obj: Generator | Classifier = load_wrapped(weights, device=device)
    elif path.is_file() and is_torchscript(path):
        obj = _load_torchscript(path, role, device, latent_shape, label)
    elif path.is_file():
        what = "a torch.save pickle, which latentviz never loads" if _is_pickle(path) else "not a model file"
        raise ModelFileError(
            f"{label}: {what}; give a zoo name, a latentviz model file (.safetensors + .json) or a "
            "TorchScript file (torch.jit.save); StyleGAN2 checkpoints: latentviz import"
        )
    else:
        from latentviz import zoo

        try:
            obj = zoo.load(text, device=device)
        except ModelFileError:
            if text in zoo.names():
                raise  # a bundled model that fails its checks: say so, not "no such model"
            looks_like_file = path.suffix in _FILE_SUFFIXES or "/" in text or "\\" in text
            what = "no such file, and no zoo model" if looks_like_file else "no zoo model and no file"
            raise ModelFileError(
                f"{label}: {what} of that name (a zoo name, a latentviz model file or a TorchScript "
                f"file); zoo: {', '.join(zoo.names()) or 'none'}"
            ) from None
    if role == "generator" and not isinstance(obj, Generator):
        raise ModelFileError(f"{label}: is a {type(obj).__name__.lower()}, not a generator")
    if role == "classifier" and not isinstance(obj, Classifier):
        raise ModelFileError(f"{label}: is a generator, not a classifier")
    return obj
