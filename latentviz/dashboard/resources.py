"""What a dashboard process loads once and shares across browser sessions.

:func:`load_resources` resolves the models and the direction set named by a
:class:`DashboardConfig` (through :mod:`latentviz.core.loading`) and caches them per
config, so every browser session of the process reuses the same generator, classifier
and directions. Per-session state (sliders, latents, uploads, results) lives in the
sessions of :mod:`latentviz.core`, never here.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from pathlib import Path

from latentviz.core import loading
from latentviz.core.atlas import Atlas
from latentviz.core.batching import FrameCalls
from latentviz.core.explanation import ExplanationOptions
from latentviz.core.memory import limit_malloc_arenas
from latentviz.core.upload import DEFAULT_MAX_UPLOAD_BYTES
from latentviz.directions import DirectionSet
from latentviz.errors import LatentvizError
from latentviz.models.classifier import Classifier
from latentviz.models.generator import Generator

__all__ = ["DEFAULT_MODEL", "DashboardConfig", "Resources", "clear_cache", "load_resources"]

#: The bundled model the dashboard serves without arguments: a conditional (medXGAN) CT
#: generator, so all three tabs work, with HU window presets and DICOM CT uploads.
DEFAULT_MODEL = "ct-medxgan"


@dataclass(frozen=True)
class DashboardConfig:
    """What ``latentviz serve`` was pointed at (hashable: the resource cache key).

    Attributes
    ----------
    model
        Generator: zoo name or model file.
    classifier
        Classifier: zoo name or model file; None takes the zoo classifier of the
        generator's phantom (``ct-classifier`` for ``ct-medxgan``).
    autoencoder
        A generator with an encoder (zoo name or model file) for the Explain tab's methods
        that need one: a style-based autoencoder (``cxr-gaan``) adds the style walks
        (``style_cf``, ``style_lig``), any encoder Latent Shift. None: those methods are not
        offered.
    directions
        A saved :class:`DirectionSet` (``.npz`` + ``.json``); None discovers ``k``
        directions with ``method`` at startup.
    method, k
        Discovery method and count when ``directions`` is None.
    max_upload_bytes
        Upload size limit.
    batch_frames
        Render the slider frames and probabilities that concurrent sessions ask for in one
        batched forward pass (:class:`latentviz.core.batching.BatchedCall`). Off by
        default: on the project's 2-core CPU it raised the p95 frame latency of 8 sessions
        (372-401 ms against 301-326 ms without, docs/benchmarks.md), because one batched
        forward at a time leaves cores idle that concurrent forwards use.
    session_compute_s, explanation_s, max_rss_bytes
        The per-session compute budget (:class:`latentviz.core.budget.ComputeBudget`): total
        seconds of one browser session, the longest single explanation, and the server memory
        an explanation may not push past (None: no cap).
    explanation
        Default options of the Explain tab (a view may change them per session).
    store
        A results store of ``latentviz batch`` (folder); when given, an Atlas tab shows its
        latents (the embedding is computed once per process).
    """

    model: str = DEFAULT_MODEL
    classifier: str | None = None
    autoencoder: str | None = None
    directions: str | None = None
    method: str = "sefa"
    k: int = 6
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    store: str | None = None
    session_compute_s: float = 900.0
    explanation_s: float = 300.0
    max_rss_bytes: int | None = None
    batch_frames: bool = False
    explanation: ExplanationOptions = field(
        default_factory=ExplanationOptions,  # the one default set of the panel and the CLI
        hash=False,
        compare=False,
    )


@dataclass
class Resources:
    """The shared, read-only models of one dashboard process."""

    config: DashboardConfig
    generator: Generator
    classifier: Classifier | None
    directions: DirectionSet
    atlas: Atlas | None = None
    frame_calls: FrameCalls | None = None
    autoencoder: Generator | None = None

    def __post_init__(self) -> None:
        if self.frame_calls is None and self.config.batch_frames:
            self.frame_calls = FrameCalls(self.classifier)

    @property
    def can_explain(self) -> bool:
        """The Explain tab needs a conditional (z1, z2) generator and a classifier."""
        return self.generator.is_conditional and self.classifier is not None

    def session_directions(self) -> DirectionSet:
        """A private copy of the direction set for one session (renames stay per session)."""
        return copy.deepcopy(self.directions)

    def session_classifier(self) -> Classifier | None:
        """A private copy of the classifier for attributions.

        Grad-CAM registers hooks on a layer of the module; on the shared module, another
        session's forward pass running meanwhile would fire them. A copy (a few hundred KB
        for the zoo classifiers) keeps attributions of concurrent sessions apart.
        """
        return None if self.classifier is None else copy.deepcopy(self.classifier)


_CACHE: dict[DashboardConfig, Resources] = {}
_LOCK = threading.Lock()


def load_resources(config: DashboardConfig | None = None) -> Resources:
    """The models and directions of ``config``, loaded once per process."""
    config = config or DashboardConfig()
    limit_malloc_arenas()  # explanations run on worker threads: keep their arenas few (core.memory)
    with _LOCK:
        res = _CACHE.get(config)
        if res is None:
            res = _CACHE[config] = _load(config)
        return res


def clear_cache(config: DashboardConfig | None = None) -> None:
    """Forget the resources of ``config`` (default: all of them)."""
    with _LOCK:
        if config is None:
            _CACHE.clear()
        else:
            _CACHE.pop(config, None)


def _load(config: DashboardConfig) -> Resources:
    if config.k < 1:
        raise LatentvizError(f"the number of directions must be >= 1, got {config.k}")
    g = loading.load_generator(config.model)
    if config.classifier is not None:
        c = loading.load_classifier(config.classifier)
    else:
        c = loading.default_classifier(g)
    size = (getattr(c, "config", None) or {}).get("image_size") if c is not None else None
    if size is not None and int(size) != g.image_shape[-1]:
        raise LatentvizError(
            f"classifier {c.name} was trained on {size} px images; {g.name} makes {g.image_shape[-1]} px"
        )
    ae = None
    if config.autoencoder is not None:
        ae = loading.load_generator(config.autoencoder)
        if not ae.has_encoder:
            raise LatentvizError(f"autoencoder {ae.name} has no encoder: a VAE or a gaan model is needed")
        if ae.image_shape != g.image_shape:
            raise LatentvizError(
                f"autoencoder {ae.name} makes {ae.image_shape} images; {g.name} makes {g.image_shape}"
            )
    if config.directions is not None:
        ds = _load_directions(config.directions, g)
    else:
        ds = loading.discover(g, config.method, config.k)
    atlas = None
    if config.store is not None:
        from latentviz.batch.store import ResultStore  # the store format of `latentviz batch`

        atlas = Atlas(ResultStore(config.store))
    return Resources(config=config, generator=g, classifier=c, directions=ds, atlas=atlas, autoencoder=ae)


def _load_directions(path: str | Path, generator: Generator) -> DirectionSet:
    """A saved set, checked against the generator (a style-based one in the set's space)."""
    from latentviz.models.style import StyleGenerator

    if isinstance(generator, StyleGenerator):
        ds = DirectionSet.load(path)
        ds.check_compatible(generator.in_space(ds.latent_space))
        return ds
    return DirectionSet.load(path, generator=generator)
