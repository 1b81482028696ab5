"""Import published StyleGAN2 checkpoints into latentviz's safetensors + JSON format.

Two layouts are read:

``.pt`` / ``.pth`` — the widely used PyTorch re-implementation (rosinality/stylegan2-pytorch)
    A dict with ``g_ema`` (a state dict) and often ``latent_avg``, ``args`` (an
    ``argparse.Namespace``), ``g``, ``d`` and optimiser states. Read with
    ``torch.load(weights_only=True)``, ``argparse.Namespace`` being the only class allowed
    beyond tensors and containers. Our generator has the same key layout except for
    ``input.input`` → ``input`` and ``noises.noise_i`` → ``noise_i``.

``.pkl`` — NVIDIA's network pickles (NVlabs/stylegan2-ada-pytorch)
    A plain ``pickle.dump`` of ``dict(G=…, D=…, G_ema=…, augment_pipe=…,
    training_set_kwargs=…)``. Every module there is pickled by ``torch_utils.persistence``
    as ``_reconstruct_persistent_obj(meta)``, where ``meta`` holds the *source code* of the
    module that defined it (executed by the original loader) and the module's ``__dict__``
    (its ``_parameters``, ``_buffers``, ``_modules`` and plain attributes). Tensors are
    ``torch._utils._rebuild_tensor_v2(storage, …)`` / ``_rebuild_parameter(…)`` with
    each storage as ``torch.storage._load_from_bytes(bytes)`` (a legacy ``torch.save`` of
    the storage alone). :class:`RestrictedUnpickler` allows those few globals only, routes
    each to a safe function (the storage bytes go to ``torch.load(weights_only=True)``, a
    persistent object becomes a :class:`PersistentRecord` holding its class name and state,
    its source is never compiled), and refuses every other global.

Then :func:`import_checkpoint` saves the generator with
:func:`latentviz.models.io.save_model` (architecture ``"stylegan2"``, latent space ``"w"``).
"""

from __future__ import annotations

import argparse
import io
import math
import pickle
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from latentviz.errors import ModelFileError
from latentviz.models.architectures.stylegan import StyleGAN2Generator

__all__ = [
    "FORMATS",
    "PersistentRecord",
    "RestrictedUnpickler",
    "detect_format",
    "import_checkpoint",
    "import_nvidia_pickle",
    "import_rosinality",
    "load_nvidia_pickle",
]

# suffix → source format
FORMATS = {
    ".pt": "rosinality-stylegan2-pytorch",
    ".pth": "rosinality-stylegan2-pytorch",
    ".pkl": "nvidia-stylegan2-ada-pickle",
}
W_AVG_SAMPLES = 10_000
W_AVG_SEED = 0
# Sanity limits before allocating a generator described by a file (published ones: ≤ 1024 px, 512 wide).
MAX_IMAGE_SIZE = 4096
MAX_WIDTH = 8192
_SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------
def _blur_kernel() -> torch.Tensor:
    """StyleGAN2's [1, 3, 3, 1] low-pass filter, normalised to sum 1."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return k / k.sum()


def _estimate_w_avg(module: StyleGAN2Generator) -> torch.Tensor:
    """Mean of the mapping over :data:`W_AVG_SAMPLES` z drawn with seed :data:`W_AVG_SEED`."""
    gen = torch.Generator().manual_seed(W_AVG_SEED)
    z = torch.randn(W_AVG_SAMPLES, module.z_dim, generator=gen)
    with torch.no_grad():
        return torch.cat([module.mapping(c) for c in z.split(1000)]).mean(0)


def _build(kwargs: dict, state: dict[str, torch.Tensor], path: Path) -> StyleGAN2Generator:
    """Our generator from ``kwargs`` with ``state`` loaded strictly (typed errors)."""
    sizes = [kwargs["w_dim"], kwargs["z_dim"], *kwargs["channels"].values()]
    if kwargs["image_size"] > MAX_IMAGE_SIZE or max(sizes) > MAX_WIDTH or kwargs["n_mlp"] > 32:
        raise ModelFileError(
            f"{path}: implausible generator ({kwargs['image_size']} px, widths up to {max(sizes)}, "
            f"{kwargs['n_mlp']} mapping layers); refusing to allocate it"
        )
    try:
        module = StyleGAN2Generator(**kwargs)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: inferred configuration {kwargs} is not buildable ({exc})") from exc
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise ModelFileError(
            f"{path}: not a StyleGAN2 generator of the expected layout — missing {missing[:6]}, "
            f"unexpected {extra[:6]}"
        )
    for k, t in own.items():
        v = state[k]
        if not isinstance(v, torch.Tensor) or tuple(v.shape) != tuple(t.shape):
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ModelFileError(f"{path}: {k!r} is {got}, the inferred architecture wants {tuple(t.shape)}")
        state[k] = v.detach().to(torch.float32)
    module.load_state_dict(state, strict=True)
    return module.eval()


def _check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelFileError(f"{path}: NaN or infinite weights in {bad[:5]}")


def _open_check(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such checkpoint file")
    return p


# ---------------------------------------------------------------------------------------
# rosinality/stylegan2-pytorch (.pt)
# ---------------------------------------------------------------------------------------
def _load_torch(path: Path) -> object:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        reason = next(
            (line for line in first if "GLOBAL" in line or "Unsupported" in line), first[0] if first else ""
        )
        raise ModelFileError(
            f"{path}: refused by torch.load(weights_only=True) — only tensors, containers and "
            f"argparse.Namespace are read ({reason.strip()[:300]})"
        ) from None
    except Exception as exc:  # truncated or not a torch file: zip, EOF, runtime, … errors
        raise ModelFileError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})"
        ) from None


def import_rosinality(path: str | Path) -> tuple[StyleGAN2Generator, dict]:
    """Read a rosinality/stylegan2-pytorch checkpoint's ``g_ema`` as our generator.

    Parameters
    ----------
    path
        A ``.pt`` saved by that code's ``train.py`` (or ``convert_weight.py``).

    Returns
    -------
    (module, config)
        The generator (eval mode) and a config dict for :func:`~latentviz.models.io.save_model`
        (``architecture``, ``kwargs``, ``latent_space``, ``source_format``, ``w_avg_source``).

    Raises
    ------
    ModelFileError
        A missing, truncated or foreign file, a class other than ``argparse.Namespace``,
        no ``g_ema``, or tensors that do not form a StyleGAN2 generator.
    """
    p = _open_check(path)
    ckpt = _load_torch(p)
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        keys = sorted(map(str, ckpt))[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ModelFileError(
            f"{p}: no 'g_ema' in this checkpoint (found {keys}); a rosinality/stylegan2-pytorch "
            "checkpoint holds the EMA generator's state dict under 'g_ema'"
        )
    src = ckpt["g_ema"]
    if not isinstance(src, dict) or not all(isinstance(v, torch.Tensor) for v in src.values()):
        raise ModelFileError(f"{p}: 'g_ema' is not a state dict of tensors")
    args = ckpt.get("args")
    args = vars(args) if isinstance(args, argparse.Namespace) else {}
    if args.get("arch", "stylegan2") != "stylegan2":
        raise ModelFileError(f"{p}: architecture {args['arch']!r} is not supported (only 'stylegan2')")
    kwargs = _rosinality_kwargs(src, args, p)
    state: dict[str, torch.Tensor] = {}
    for k, v in src.items():
        if k == "input.input":
            k = "input"
        elif k.startswith("noises."):
            k = k[len("noises.") :]
        state[k] = v
    _check_finite(state, p)
    avg = ckpt.get("latent_avg")
    if isinstance(avg, torch.Tensor) and avg.numel() == kwargs["w_dim"]:
        state["w_avg"] = avg.reshape(-1).to(torch.float32)
        w_avg_source = "latent_avg"
    else:
        state["w_avg"] = torch.zeros(kwargs["w_dim"])
        w_avg_source = f"estimated: mean of the mapping over {W_AVG_SAMPLES} z (seed {W_AVG_SEED})"
    module = _build(kwargs, state, p)
    if w_avg_source.startswith("estimated"):
        module.w_avg.copy_(_estimate_w_avg(module))
    return module, _config(kwargs, FORMATS[".pt"], w_avg_source)


def _rosinality_kwargs(src: dict[str, torch.Tensor], args: dict, path: Path) -> dict:
    """Generator kwargs from tensor shapes (sizes, channels) and ``args`` (``lr_mlp``)."""
    need = ("input.input", "style.1.weight", "to_rgb1.conv.weight")
    if any(k not in src for k in need):
        raise ModelFileError(
            f"{path}: 'g_ema' lacks {[k for k in need if k not in src]}; not a StyleGAN2 generator"
        )
    n_rgbs = len({k.split(".")[1] for k in src if k.startswith("to_rgbs.")})
    n_mlp = len({k.split(".")[1] for k in src if re.fullmatch(r"style\.\d+\.weight", k)})
    w_dim, z_dim = src["style.1.weight"].shape
    image_size = 2 ** (n_rgbs + 2)
    if image_size > MAX_IMAGE_SIZE:
        raise ModelFileError(f"{path}: implausible generator ({n_rgbs} toRGB layers, {image_size} px)")
    channels = {4: int(src["input.input"].shape[1])}
    for b in range(n_rgbs):
        key = f"convs.{2 * b}.conv.weight"
        if key not in src:
            raise ModelFileError(f"{path}: 'g_ema' lacks {key!r}")
        channels[2 ** (b + 3)] = int(src[key].shape[1])
    return {
        "image_size": image_size,
        "z_dim": int(z_dim),
        "w_dim": int(w_dim),
        "n_mlp": n_mlp,
        "image_channels": int(src["to_rgb1.conv.weight"].shape[1]),
        "lr_mlp": float(args.get("lr_mlp", 0.01)),
        "channels": channels,
    }


def _config(kwargs: dict, source_format: str, w_avg_source: str) -> dict:
    return {
        "architecture": "stylegan2",
        "kwargs": kwargs,
        "latent_space": "w",
        "source_format": source_format,
        "w_avg_source": w_avg_source,
    }


# ---------------------------------------------------------------------------------------
# NVIDIA network pickles (.pkl)
# ---------------------------------------------------------------------------------------
@dataclass
class PersistentRecord:
    """What a ``torch_utils.persistence`` object pickled: its class name and state.

    The embedded module source is dropped unread. ``state`` is the module's ``__dict__``
    (``_parameters``, ``_buffers``, ``_modules`` and plain attributes).
    """

    class_name: str
    state: dict = field(default_factory=dict)
    version: object = None

    def get(self, key: str, default: object = None) -> object:
        return self.state.get(key, default)

    @property
    def parameters(self) -> dict[str, torch.Tensor]:
        """Own parameters and buffers (``None`` entries skipped)."""
        out = {}
        for group in ("_parameters", "_buffers"):
            d = self.state.get(group) or {}
            out.update({k: v for k, v in d.items() if v is not None})
        return out

    @property
    def modules(self) -> dict[str, PersistentRecord]:
        return dict(self.state.get("_modules") or {})


class _EasyDict(dict):
    """``dnnlib.util.EasyDict`` read as a plain dict (a subclass only so that pickle's
    BUILD of an empty instance state has somewhere to go)."""


def _safe_load_from_bytes(b: bytes) -> torch.storage.TypedStorage:
    """A storage pickled as ``torch.storage._load_from_bytes(b)``, loaded with
    ``weights_only=True`` instead of the original ``weights_only=False``."""
    if not isinstance(b, bytes | bytearray):
        raise ModelFileError("a storage record holds no bytes")
    try:
        out = torch.load(io.BytesIO(bytes(b)), map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure of the inner load is a bad file
        raise ModelFileError(f"a tensor storage could not be read safely ({type(exc).__name__})") from None
    if not isinstance(out, torch.storage.TypedStorage | torch.UntypedStorage):
        raise ModelFileError(f"a storage record holds a {type(out).__name__}, not a storage")
    return out


def _safe_rebuild_tensor(
    storage: object,
    offset: int,
    size: tuple,
    stride: tuple,
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v2`` without hooks or metadata."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise ModelFileError("a tensor record does not point at a storage")
    try:
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        return torch._utils._rebuild_tensor(storage, int(offset), size, stride)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ModelFileError(f"a tensor record is inconsistent with its storage ({exc})") from None


def _safe_rebuild_parameter(data: object, requires_grad: object = False, *_: object) -> torch.Tensor:
    """``torch._utils._rebuild_parameter`` (and ``_with_state``): the data, no hooks or state."""
    if not isinstance(data, torch.Tensor):
        raise ModelFileError("a parameter record holds no tensor")
    return torch.nn.Parameter(data, requires_grad=False)


def _safe_reconstruct(meta: object) -> PersistentRecord:
    """``torch_utils.persistence._reconstruct_persistent_obj``: a record, never the code."""
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str):
        raise ModelFileError("a persistent object's record has no class name")
    state = meta.get("state")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise ModelFileError(f"persistent object {meta['class_name']!r} has no state dict")
    # meta["module_src"] is deliberately neither compiled nor kept.
    return PersistentRecord(meta["class_name"], dict(state), meta.get("version"))


_NUMERIC_DTYPES = (
    frozenset("?bBhHiIlLqQefdgFD") | {f"{k}{n}" for k in "iuf" for n in (1, 2, 4, 8)} | {"b1", "c8", "c16"}
)


def _safe_dtype(spec: object, align: object = False, copy: object = False) -> np.dtype:
    """``numpy.dtype`` for plain numeric dtypes only (NVIDIA's ``weight_gain`` attributes
    are numpy float64 scalars)."""
    if not isinstance(spec, str) or spec not in _NUMERIC_DTYPES:
        raise ModelFileError(f"refusing numpy dtype {spec!r} (only plain numeric dtypes are read)")
    # copy=True as numpy pickles it: BUILD then sets the state of this copy, never of
    # numpy's shared built-in descriptor.
    return np.dtype(spec, copy=True)


def _safe_scalar(dtype: object, data: object = None) -> object:
    """``numpy.core.multiarray.scalar``: a numeric scalar as a Python number."""
    plain = isinstance(dtype, np.dtype) and dtype.kind in "biufc" and not dtype.hasobject
    if not plain or dtype.fields is not None or dtype.subdtype is not None or not isinstance(data, bytes):
        raise ModelFileError("refusing a numpy scalar that is not a plain number")
    if len(data) != dtype.itemsize:
        raise ModelFileError("a numpy scalar has the wrong number of bytes")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


# (module, name) → what the restricted unpickler gives back for that global.
_ALLOWED: dict[tuple[str, str], Callable | type] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
    ("torch._utils", "_rebuild_tensor_v2"): _safe_rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _safe_rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _safe_rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _safe_load_from_bytes,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _safe_reconstruct,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy.core.multiarray", "scalar"): _safe_scalar,
    ("numpy._core.multiarray", "scalar"): _safe_scalar,
}


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that resolves only the globals of :data:`_ALLOWED`, each to a safe
    function, and refuses every other one (and persistent ids) with :class:`ModelFileError`.

    It is the pure-Python unpickler, so that ``BUILD`` (set an object's state) can be
    limited to the objects that legitimately carry state in these files (numpy dtypes,
    ``EasyDict`` instances): otherwise a file could ``BUILD`` onto an allowed global itself
    (e.g. replace a safe function's ``__defaults__``) and change it for later loads.
    """

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def _load_build(self) -> None:
        target = self.stack[-2] if len(self.stack) >= 2 else None
        state = self.stack[-1] if self.stack else None
        if not isinstance(target, np.dtype | _EasyDict) or (
            isinstance(target, _EasyDict) and not isinstance(state, dict | type(None))
        ):
            raise ModelFileError(
                f"refusing to set the state of a {type(target).__name__} in a network pickle"
            )
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = _load_build

    def find_class(self, module: str, name: str) -> object:
        target = _ALLOWED.get((module, name))
        if target is None:
            raise ModelFileError(
                f"refusing global {module}.{name} in a network pickle: only tensors, storages, "
                "containers and torch_utils.persistence records are read"
            )
        return target

    def persistent_load(self, pid: object) -> object:
        raise ModelFileError("refusing a persistent id in a network pickle")


def load_nvidia_pickle(path: str | Path) -> object:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` (no code from the file runs).

    Raises
    ------
    ModelFileError
        A refused global (named in the message), a truncated or malformed pickle.
    """
    p = _open_check(path)
    with open(p, "rb") as f:
        try:
            return RestrictedUnpickler(f).load()
        except ModelFileError as exc:
            raise ModelFileError(f"{p}: {exc}") from None
        except Exception as exc:  # truncated or malformed: struct, EOF, type, value, … errors
            raise ModelFileError(
                f"{p}: not a readable network pickle ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None


def _sub(rec: PersistentRecord, name: str, path: Path, where: str) -> PersistentRecord:
    m = rec.modules.get(name)
    if not isinstance(m, PersistentRecord):
        raise ModelFileError(f"{path}: {where} has no module {name!r}")
    return m


def _tensor(rec: PersistentRecord, name: str, path: Path, where: str) -> torch.Tensor:
    t = rec.parameters.get(name)
    if not isinstance(t, torch.Tensor):
        raise ModelFileError(f"{path}: {where} has no tensor {name!r}")
    return t.detach().to(torch.float32)


def _num(rec: PersistentRecord, name: str, default: float | None = None) -> float | None:
    v = rec.get(name, default)
    return None if v is None else float(v)


def import_nvidia_pickle(path: str | Path) -> tuple[StyleGAN2Generator, dict]:
    """Read ``G_ema`` of an NVIDIA stylegan2-ada-pytorch network pickle as our generator,
    without running any code from the file.

    Parameters
    ----------
    path
        A ``network-snapshot-*.pkl`` (or any pickle of a dict holding ``G_ema``).

    Returns
    -------
    (module, config)
        As :func:`import_rosinality`; ``kwargs`` include ``conv_clamp``.

    Raises
    ------
    ModelFileError
        A refused global, a truncated file, no ``G_ema``, a conditional generator
        (``c_dim > 0``), a synthesis architecture other than ``'skip'``, a StyleGAN3
        generator, or layers whose settings our generator cannot reproduce.
    """
    p = _open_check(path)
    data = load_nvidia_pickle(p)
    if not isinstance(data, dict) or "G_ema" not in data:
        keys = sorted(map(str, data))[:8] if isinstance(data, dict) else type(data).__name__
        raise ModelFileError(f"{p}: no 'G_ema' in this pickle (found {keys})")
    g = data["G_ema"]
    if not isinstance(g, PersistentRecord):
        raise ModelFileError(f"{p}: 'G_ema' is not a torch_utils.persistence network")
    if int(g.get("c_dim", 0) or 0) > 0:
        raise ModelFileError(f"{p}: conditional generators (c_dim = {g.get('c_dim')}) are not supported")
    mapping = _sub(g, "mapping", p, "G_ema")
    synthesis = _sub(g, "synthesis", p, "G_ema")
    if "b4" not in synthesis.modules or any(
        isinstance(m, PersistentRecord) and m.class_name == "SynthesisInput"
        for m in synthesis.modules.values()
    ):
        raise ModelFileError(f"{p}: a StyleGAN3 (alias-free) generator; only StyleGAN2 is supported")
    if "embed" in mapping.modules:
        raise ModelFileError(f"{p}: conditional generators (a label embedding) are not supported")

    state: dict[str, torch.Tensor] = {}
    # Mapping: fcN → style.{N+1}, same equalised-lr convention (gain lr/√in, bias × lr).
    n_mlp = len([k for k in mapping.modules if re.fullmatch(r"fc\d+", k)])
    lrs = set()
    for i in range(n_mlp):
        fc = _sub(mapping, f"fc{i}", p, "mapping")
        if fc.get("activation", "lrelu") != "lrelu":
            raise ModelFileError(f"{p}: mapping activation {fc.get('activation')!r} is not supported (lrelu)")
        lrs.add(round(_num(fc, "bias_gain", 0.01), 12))
        state[f"style.{i + 1}.weight"] = _tensor(fc, "weight", p, f"mapping.fc{i}")
        state[f"style.{i + 1}.bias"] = _tensor(fc, "bias", p, f"mapping.fc{i}")
    if n_mlp == 0 or len(lrs) != 1:
        raise ModelFileError(
            f"{p}: the mapping has {n_mlp} layers with learning-rate multipliers {sorted(lrs)}"
        )
    lr_mlp = lrs.pop()
    for i in range(n_mlp):  # the weight gain must be the equalised-lr one, lr / √fan_in
        fc = mapping.modules[f"fc{i}"]
        wg, fan_in = _num(fc, "weight_gain"), state[f"style.{i + 1}.weight"].shape[1]
        if wg is not None and not math.isclose(wg, lr_mlp / math.sqrt(fan_in), rel_tol=1e-6):
            raise ModelFileError(f"{p}: mapping.fc{i} has weight gain {wg}, not lr/√fan_in")
    w_dim, z_dim = state["style.1.weight"].shape
    w_avg = mapping.parameters.get("w_avg")

    blocks = sorted((int(k[1:]), m) for k, m in synthesis.modules.items() if re.fullmatch(r"b\d+", k))
    res_list = [r for r, _ in blocks]
    if res_list != [2**i for i in range(2, len(blocks) + 2)] or len(blocks) < 2:
        raise ModelFileError(f"{p}: synthesis blocks at {res_list} are not 4, 8, …, 2^k")
    channels: dict[int, int] = {}
    clamps: set = set()
    image_channels = None
    kernel = _blur_kernel()
    for b, (res, blk) in enumerate(blocks):
        where = f"synthesis.b{res}"
        if blk.get("architecture", "skip") != "skip":
            raise ModelFileError(
                f"{p}: synthesis architecture {blk.get('architecture')!r} is not supported (only 'skip')"
            )
        rf = blk.parameters.get("resample_filter")
        if rf is not None and (rf.shape != kernel.shape or not torch.allclose(rf.float(), kernel, atol=1e-6)):
            raise ModelFileError(f"{p}: {where} uses a resampling filter other than [1, 3, 3, 1]")
        if b == 0:
            const = _tensor(blk, "const", p, where)
            state["input"] = const[None]
            layers = [("conv1", "conv1", 0, 1)]
        else:
            layers = [
                ("conv0", f"convs.{2 * b - 2}", 2 * b - 1, 2),
                ("conv1", f"convs.{2 * b - 1}", 2 * b, 1),
            ]
        for nv, ours, noise_i, up in layers:
            layer = _sub(blk, nv, p, where)
            clamps.add(_num(layer, "conv_clamp"))
            _check_layer(layer, up, p, f"{where}.{nv}")
            weight = _tensor(layer, "weight", p, f"{where}.{nv}")
            state[f"{ours}.conv.weight"] = weight[None]
            aff = _affine(layer, p, f"{where}.{nv}")
            state[f"{ours}.conv.modulation.weight"], state[f"{ours}.conv.modulation.bias"] = aff
            state[f"{ours}.activate.bias"] = _tensor(layer, "bias", p, f"{where}.{nv}")
            if layer.get("use_noise", True):
                strength = _tensor(layer, "noise_strength", p, f"{where}.{nv}")
                const_noise = _tensor(layer, "noise_const", p, f"{where}.{nv}")
            else:  # no noise input: zero strength
                strength, const_noise = torch.zeros(()), torch.zeros(res, res)
            state[f"{ours}.noise.weight"] = strength.reshape(1)
            state[f"noise_{noise_i}"] = const_noise.reshape(1, 1, res, res)
        channels[res] = int(state[f"{layers[-1][1]}.conv.weight"].shape[1])
        rgb = _sub(blk, "torgb", p, where)
        clamps.add(_num(rgb, "conv_clamp"))
        rgb_w = _tensor(rgb, "weight", p, f"{where}.torgb")
        if rgb_w.shape[2:] != (1, 1):
            raise ModelFileError(f"{p}: {where}.torgb has a {tuple(rgb_w.shape[2:])} kernel, not 1×1")
        wg = _num(rgb, "weight_gain")
        if wg is not None and not math.isclose(wg, 1 / math.sqrt(rgb_w.shape[1]), rel_tol=1e-6):
            raise ModelFileError(f"{p}: {where}.torgb has weight gain {wg}, not 1/√(in·k·k)")
        name = "to_rgb1" if b == 0 else f"to_rgbs.{b - 1}"
        # NVIDIA scales the styles by 1/√(in·k·k); ours scales the weight: the same product.
        state[f"{name}.conv.weight"] = rgb_w[None]
        state[f"{name}.conv.modulation.weight"], state[f"{name}.conv.modulation.bias"] = _affine(
            rgb, p, f"{where}.torgb"
        )
        rgb_b = _tensor(rgb, "bias", p, f"{where}.torgb")
        state[f"{name}.bias"] = rgb_b.reshape(1, -1, 1, 1)
        image_channels = int(rgb_w.shape[0])
    if len(clamps) != 1:
        raise ModelFileError(f"{p}: layers use different conv_clamp values {sorted(map(str, clamps))}")
    conv_clamp = clamps.pop()
    channels[4] = int(state["input"].shape[1])
    kwargs = {
        "image_size": res_list[-1],
        "z_dim": int(z_dim),
        "w_dim": int(w_dim),
        "n_mlp": n_mlp,
        "image_channels": image_channels,
        "lr_mlp": lr_mlp,
        "channels": dict(sorted(channels.items())),
        "conv_clamp": conv_clamp,
    }
    # Blur / upsample kernels are fixed buffers of our layout (checked equal above).
    fixed = StyleGAN2Generator(**kwargs).state_dict()
    state.update({k: v for k, v in fixed.items() if k.endswith(".kernel")})
    if isinstance(w_avg, torch.Tensor) and w_avg.numel() == w_dim:
        state["w_avg"], w_avg_source = w_avg.reshape(-1).float(), "mapping.w_avg"
    else:
        state["w_avg"] = torch.zeros(w_dim)
        w_avg_source = f"estimated: mean of the mapping over {W_AVG_SAMPLES} z (seed {W_AVG_SEED})"
    _check_finite(state, p)
    module = _build(kwargs, state, p)
    if w_avg_source.startswith("estimated"):
        module.w_avg.copy_(_estimate_w_avg(module))
    cfg = _config(kwargs, FORMATS[".pkl"], w_avg_source)
    versions = {m.version for m in (g, mapping, synthesis)}
    cfg["source_persistence_version"] = versions.pop() if len(versions) == 1 else sorted(map(str, versions))
    return module, cfg


def _check_layer(layer: PersistentRecord, up: int, path: Path, where: str) -> None:
    """Refuse synthesis-layer settings our generator does not reproduce."""
    if layer.get("activation", "lrelu") != "lrelu":
        raise ModelFileError(f"{path}: {where} uses activation {layer.get('activation')!r}, not lrelu")
    if int(layer.get("up", up)) != up:
        raise ModelFileError(f"{path}: {where} upsamples by {layer.get('up')}, expected {up}")
    gain = _num(layer, "act_gain", _SQRT2)
    if not math.isclose(gain, _SQRT2, rel_tol=1e-6):
        raise ModelFileError(f"{path}: {where} has activation gain {gain}, not √2")
    w = layer.parameters.get("weight")
    if isinstance(w, torch.Tensor) and tuple(w.shape[2:]) != (3, 3):
        raise ModelFileError(f"{path}: {where} has a {tuple(w.shape[2:])} kernel, not 3×3")


def _affine(layer: PersistentRecord, path: Path, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-layer affine map w → s: a linear FullyConnectedLayer with lr multiplier 1
    (gain 1/√w_dim, as our ``modulation``)."""
    aff = _sub(layer, "affine", path, where)
    if aff.get("activation", "linear") != "linear" or not math.isclose(_num(aff, "bias_gain", 1.0), 1.0):
        raise ModelFileError(f"{path}: {where}.affine is not a plain linear layer with lr multiplier 1")
    return _tensor(aff, "weight", path, f"{where}.affine"), _tensor(aff, "bias", path, f"{where}.affine")


# ---------------------------------------------------------------------------------------
# into latentviz's format
# ---------------------------------------------------------------------------------------
def detect_format(path: str | Path) -> str:
    """The source format from the file suffix (``.pt``/``.pth`` or ``.pkl``).

    Raises
    ------
    ModelFileError
        Any other suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ModelFileError(
            f"{path}: cannot tell the checkpoint layout from {suffix or 'no suffix'!r}; expected .pt/.pth "
            "(rosinality/stylegan2-pytorch) or .pkl (NVIDIA stylegan2-ada-pytorch)"
        )
    return FORMATS[suffix]


def import_checkpoint(path: str | Path, out: str | Path, name: str | None = None) -> dict:
    """Import a StyleGAN2 checkpoint and save it as ``out.safetensors`` + ``out.json``.

    Parameters
    ----------
    path
        A rosinality ``.pt``/``.pth`` or an NVIDIA ``.pkl``.
    out
        Destination without suffix.
    name
        Model name recorded in the sidecar (default: the stem of ``out``).

    Returns
    -------
    dict
        The saved sidecar config (with ``sha256`` of the weights and ``source_sha256``).
    """
    from latentviz.models.io import file_sha256, load_config, save_model

    fmt = detect_format(path)
    module, cfg = import_rosinality(path) if fmt == FORMATS[".pt"] else import_nvidia_pickle(path)
    out = Path(out)
    cfg["name"] = name or out.name
    # The source is identified by its hash only (its file name could name a patient or site).
    cfg["source_sha256"] = file_sha256(path)
    cfg["source_bytes"] = Path(path).stat().st_size
    save_model(module, cfg, out)
    return load_config(out)
