"""The :class:`DirectionSet`: unit latent directions bound to one model and latent space.

File format (``save(path)`` writes two files beside each other):

``path.npz`` (numpy, no pickle)
    ``directions`` float32 ``(K, D)`` unit rows; ``scores`` float64 ``(K,)``;
    ``sigmas`` float64 ``(K,)`` (latent displacement of one slider σ unit, 1 when the
    method has no natural scale).
``path.json``
    ``{"format": "latentviz.directions/1", "method", "params", "model_sha256",
    "latent_space", "latent_dim", "names": [...], "notes": [...]}``.

Loading re-normalises nothing: it checks the rows are unit length and refuses files
whose parts disagree (:class:`~latentviz.errors.ModelFileError`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentviz.errors import ArgumentError, DirectionSetMismatchError, LatentError, ModelFileError, ShapeError

__all__ = ["FORMAT", "DirectionSet"]

FORMAT = "latentviz.directions/1"


def _stem(path: str | Path) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".npz", ".json") else path


@dataclass
class DirectionSet:
    """A matrix of unit latent directions with names, scores and provenance.

    Parameters
    ----------
    directions
        ``(K, D)`` array; rows are normalised to unit length (a zero row is an error).
    names
        One name per direction; defaults to ``"<method> 0"``, ``"<method> 1"``, ….
    scores
        One importance score per direction (eigenvalue, explained variance, accuracy…).
    method
        The method that produced the set (``"sefa"``, ``"ganspace"``, …).
    params
        The method's parameters and diagnostics (JSON-serialisable).
    model_sha256
        :attr:`latentviz.models.Generator.sha256` of the model the set was built for.
    latent_space
        The generator's latent-space tag (``"z"``, ``"w"``, …).
    sigmas
        Latent displacement of one slider unit per direction (GANSpace's σ units).
    notes
        Free-text annotation per direction.

    Examples
    --------
    >>> ds = DirectionSet(np.eye(3)[:2], method="axes", model_sha256="abc", latent_space="z")
    >>> ds.rename(0, "rotation").names
    ['rotation', 'axes 1']
    """

    directions: np.ndarray
    names: list[str] | None = None
    scores: np.ndarray | None = None
    method: str = "custom"
    params: dict = field(default_factory=dict)
    model_sha256: str = ""
    latent_space: str = "z"
    sigmas: np.ndarray | None = None
    notes: list[str] | None = None

    def __post_init__(self) -> None:
        d = np.asarray(self.directions, dtype=np.float64)
        if d.ndim != 2 or d.shape[0] == 0 or d.shape[1] == 0:
            raise ShapeError(f"directions must be a non-empty (K, D) matrix, got shape {d.shape}")
        if not np.isfinite(d).all():
            raise LatentError("directions contain NaN or infinite values")
        norms = np.linalg.norm(d, axis=1, keepdims=True)
        if (norms < 1e-12).any():
            raise ShapeError(f"direction(s) {np.flatnonzero(norms[:, 0] < 1e-12).tolist()} have zero length")
        self.directions = (d / norms).astype(np.float32)
        k = d.shape[0]
        self.names = list(self.names) if self.names is not None else [f"{self.method} {i}" for i in range(k)]
        self.notes = list(self.notes) if self.notes is not None else [""] * k
        self.scores = (
            np.zeros(k) if self.scores is None else np.asarray(self.scores, dtype=np.float64).reshape(-1)
        )
        self.sigmas = np.ones(k) if self.sigmas is None else np.asarray(self.sigmas, dtype=np.float64)
        for what, n in (("names", len(self.names)), ("notes", len(self.notes)), ("scores", self.scores.size)):
            if n != k:
                raise ShapeError(f"{what} has {n} entries for {k} directions")
        if self.sigmas.shape != (k,) or not (self.sigmas > 0).all():
            raise ShapeError(f"sigmas must be {k} positive numbers")

    # -- shape ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.directions.shape[0])

    @property
    def latent_dim(self) -> int:
        return int(self.directions.shape[1])

    def index(self, key: int | str) -> int:
        """Position of a direction given by index or name."""
        if isinstance(key, str):
            if key not in self.names:
                raise KeyError(f"no direction named {key!r}; names: {self.names}")
            return self.names.index(key)
        if not -len(self) <= key < len(self):
            raise IndexError(f"direction {key} out of range for {len(self)} directions")
        return int(key) % len(self)

    def vector(self, key: int | str) -> np.ndarray:
        """One unit direction ``(D,)``."""
        return self.directions[self.index(key)]

    def subset(self, keys: Sequence[int | str]) -> DirectionSet:
        """A new set holding the chosen directions (same provenance)."""
        idx = [self.index(k) for k in keys]
        return DirectionSet(
            self.directions[idx],
            [self.names[i] for i in idx],
            self.scores[idx],
            self.method,
            dict(self.params),
            self.model_sha256,
            self.latent_space,
            self.sigmas[idx],
            [self.notes[i] for i in idx],
        )

    # -- editing ------------------------------------------------------------------------
    def rename(self, key: int | str, name: str) -> DirectionSet:
        """Rename one direction in place; returns ``self``."""
        if not isinstance(name, str) or not name.strip():
            raise ArgumentError("a direction name must be a non-empty string")
        self.names[self.index(key)] = name
        return self

    def annotate(self, key: int | str, note: str) -> DirectionSet:
        """Attach a free-text note to one direction in place; returns ``self``."""
        self.notes[self.index(key)] = str(note)
        return self

    # -- binding to a model ---------------------------------------------------------------
    def check_compatible(self, generator: object) -> None:
        """Refuse a generator other than the one this set was built for.

        Raises
        ------
        DirectionSetMismatchError
            If the weights checksum, the latent-space tag or the latent size differ.
        """
        sha = getattr(generator, "sha256", None)
        space = getattr(generator, "latent_space", None)
        dim = getattr(generator, "latent_dim", None)
        name = getattr(generator, "name", type(generator).__name__)
        if space is not None and space != self.latent_space:
            hint = ""
            if hasattr(generator, "in_space"):
                hint = f"; use generator.in_space({self.latent_space!r})"
            raise DirectionSetMismatchError(
                f"direction set was built in latent space {self.latent_space!r}; {name} uses {space!r}{hint}"
            )
        if dim is not None and dim != self.latent_dim:
            raise DirectionSetMismatchError(
                f"direction set has latent size {self.latent_dim}; {name} has {dim}"
            )
        if self.model_sha256 and sha is not None and sha != self.model_sha256:
            raise DirectionSetMismatchError(
                f"direction set was built for model sha256 {self.model_sha256[:12]}…, "
                f"not {name} ({str(sha)[:12]}…)"
            )

    def as_tensor(self, device: str | torch.device | None = None) -> torch.Tensor:
        """The ``(K, D)`` matrix as a float32 tensor on ``device``."""
        return torch.as_tensor(self.directions, device=device)

    def shift(self, z: torch.Tensor, key: int | str, amount: float | torch.Tensor) -> torch.Tensor:
        """``z + amount · σ_k · d_k``: a slider move of ``amount`` σ units along direction ``key``.

        ``amount`` may be a scalar or a ``(N,)`` tensor (one shift per latent).
        """
        i = self.index(key)
        d = torch.as_tensor(self.directions[i] * self.sigmas[i], dtype=z.dtype, device=z.device)
        a = torch.as_tensor(amount, dtype=z.dtype, device=z.device)
        return z + (a.reshape(-1, 1) if a.ndim else a) * d

    # -- files ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``path.npz`` and ``path.json`` (see the module docstring); returns both paths."""
        stem = _stem(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        npz, sidecar = stem.with_suffix(".npz"), stem.with_suffix(".json")
        np.savez(npz, directions=self.directions, scores=self.scores, sigmas=self.sigmas)
        meta = {
            "format": FORMAT,
            "method": self.method,
            "params": self.params,
            "model_sha256": self.model_sha256,
            "latent_space": self.latent_space,
            "latent_dim": self.latent_dim,
            "names": self.names,
            "notes": self.notes,
        }
        sidecar.write_text(json.dumps(meta, indent=2, default=_json_default))
        return npz, sidecar

    @classmethod
    def load(cls, path: str | Path, generator: object | None = None) -> DirectionSet:
        """Read a set written by :meth:`save`; with ``generator``, check it was built for it.

        Raises
        ------
        ModelFileError
            Missing or inconsistent files.
        DirectionSetMismatchError
            The set belongs to another model or latent space.
        """
        stem = _stem(path)
        npz, sidecar = stem.with_suffix(".npz"), stem.with_suffix(".json")
        for p in (npz, sidecar):
            if not p.is_file():
                raise ModelFileError(f"{p}: no such file (a direction set is a .npz plus a .json)")
        try:
            meta = json.loads(sidecar.read_text())
            with np.load(npz, allow_pickle=False) as arrays:
                directions = arrays["directions"]
                scores, sigmas = arrays["scores"], arrays["sigmas"]
        except (ValueError, KeyError, OSError) as exc:
            raise ModelFileError(f"{stem}: not a latentviz direction set ({exc})") from exc
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{sidecar}: format {meta.get('format')!r}, expected {FORMAT!r}")
        if directions.ndim != 2 or directions.shape[1] != meta.get("latent_dim"):
            raise ModelFileError(f"{npz}: shape {directions.shape} disagrees with {sidecar}")
        if not np.allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-4):
            raise ModelFileError(f"{npz}: rows are not unit vectors")
        try:
            ds = cls(
                directions,
                meta["names"],
                scores,
                meta["method"],
                meta.get("params", {}),
                meta.get("model_sha256", ""),
                meta.get("latent_space", "z"),
                sigmas,
                meta.get("notes"),
            )
        except (KeyError, ShapeError) as exc:
            raise ModelFileError(f"{stem}: inconsistent direction set ({exc})") from exc
        if generator is not None:
            ds.check_compatible(generator)
        return ds

    def __repr__(self) -> str:
        return (
            f"DirectionSet(method={self.method!r}, K={len(self)}, D={self.latent_dim}, "
            f"space={self.latent_space!r}, model={self.model_sha256[:12]!r})"
        )


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"direction-set params must be JSON-serialisable, got {type(o).__name__}")
