"""The Explain tab: upload a slice (or pick a phantom sample), invert it, show every map.

A thin Panel view over :mod:`latentviz.core.upload` (size limit, private temp folder,
de-identified reading) and :class:`latentviz.core.ExplanationSession` (inversion with
progress and cancel, counterfactual, the registered methods, rendered panels). Parsing and
the explanation run on worker threads; results reach the page through
:class:`~latentviz.dashboard.dispatch.UiThread`.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import holoviews as hv
import panel as pn

from latentviz.bounds import Bound, OptionSpec, RealBound
from latentviz.core import render, upload
from latentviz.core.budget import BudgetWatch, ComputeBudget
from latentviz.core.explanation import (
    ExplanationCancelled,
    ExplanationOptions,
    ExplanationResult,
    ExplanationSession,
    Panel,
    method_option_specs,
)
from latentviz.core.throttle import LatestWinsWorker
from latentviz.dashboard.dispatch import UiThread
from latentviz.dashboard.resources import Resources
from latentviz.dashboard.style import (
    IMAGE_CSS,
    colorbar_block,
    error_html,
    image_pane,
    label,
    message_html,
    primary,
)
from latentviz.dashboard.upload_guard import UploadGuard
from latentviz.data import MedicalImage
from latentviz.data.windowing import PRESETS
from latentviz.errors import LatentvizError
from latentviz.explain import registry

__all__ = ["ExplainTab"]

ACCEPT = ".dcm,.dicom,.png,.jpg,.jpeg,.tif,.tiff,.nii,.nii.gz,.npz"


def option_input(options: ExplanationOptions, name: str, width: int = 110) -> pn.widgets.IntInput:
    """An integer input for option ``name``, its range from :meth:`ExplanationOptions.spec`.

    The browser enforces this range only as a convenience; the session's
    :meth:`ExplanationOptions.check` enforces the same declaration on the server.
    """
    spec = ExplanationOptions.spec(name)
    return pn.widgets.IntInput(
        **label(spec.label), value=getattr(options, name), start=spec.low, end=spec.high, width=width
    )


def spec_input(spec: OptionSpec, value: Any, width: int = 140) -> pn.widgets.Widget:
    """A widget for one declared method option, its range or choices from ``spec`` (the
    server enforces the same declaration)."""
    if spec.choices == (True, False):
        return pn.widgets.Checkbox(**label(spec.label), value=bool(value), width=width)
    if spec.choices is not None:
        return pn.widgets.Select(**label(spec.label), options=list(spec.choices), value=value, width=width)
    if isinstance(spec.bound, Bound):
        return pn.widgets.IntInput(
            **label(spec.label), value=value, start=spec.low, end=spec.high, width=width
        )
    if isinstance(spec.bound, RealBound):
        return pn.widgets.FloatInput(
            **label(spec.label), value=value, start=spec.low, end=spec.high, width=width
        )
    return pn.widgets.TextInput(**label(spec.label), value=str(value), width=width)


class ExplainTab:
    """Upload or phantom → inversion (progress, cancel) → side-by-side explanation panels.

    Parameters
    ----------
    resources
        The process's shared models.
    ui
        The session's event-loop dispatcher.
    on_explained
        Called on the event loop with each finished :class:`ExplanationResult`
        (the Interpolation tab follows the explained image's path).
    panel_size
        Displayed width of each panel.
    """

    def __init__(
        self,
        resources: Resources,
        ui: UiThread,
        on_explained: Callable[[ExplanationResult], Any] | None = None,
        panel_size: int = 148,
    ) -> None:
        self.resources, self.ui, self.on_explained = resources, ui, on_explained
        self.generator = resources.generator
        self.classifier = resources.session_classifier() if resources.can_explain else None
        self.size = panel_size
        self.image: MedicalImage | None = None  # the last upload (de-identified)
        self.session: ExplanationSession | None = None
        self.result: ExplanationResult | None = None
        self._last_progress = 0.0
        cfg = resources.config
        self.budget = ComputeBudget(cfg.session_compute_s, cfg.explanation_s, cfg.max_rss_bytes)
        self._watch: BudgetWatch | None = None

        self.file_input = pn.widgets.FileInput(accept=ACCEPT, css_classes=["lv-upload"], width=300)
        # Files over the limit are refused in the browser: sent, they would close the websocket.
        self.upload_guard = UploadGuard(max_bytes=resources.config.max_upload_bytes, target_class="lv-upload")
        self.upload_guard.on_refused(self._upload_refused)
        limit = resources.config.max_upload_bytes / 2**20
        self.phantom_seed = pn.widgets.IntInput(**label("phantom seed"), value=0, start=0, width=120)
        self.phantom_button = pn.widgets.Button(**label("Use a phantom sample"), css_classes=["lv-phantom"])
        self.window = pn.widgets.Select(**label("window for the model"), options={}, width=300, visible=False)
        self.slice = pn.widgets.IntSlider(**label("slice"), start=0, end=1, value=0, width=230, visible=False)
        self.preview = image_pane(None, 256, "lv-upload-preview")
        self.model_input = image_pane(None, 128, "lv-model-input")
        self.info = pn.pane.HTML("", css_classes=["lv-upload-info"], width=420)
        # What is in use, named without identifiers: the file box forgets the file once read.
        self.current = pn.pane.HTML("", css_classes=["lv-current-image"], width=380)
        self.message = pn.pane.HTML("", css_classes=["lv-message"], width=600)

        o = resources.config.explanation
        # Option ranges come from the one declaration that ExplanationOptions.check() enforces.
        self.restarts = option_input(o, "restarts")
        self.steps = option_input(o, "inversion_steps")
        self.refine = option_input(o, "refine_evals")
        self.ig_steps = option_input(o, "ig_steps")
        self.lig_steps = option_input(o, "lig_steps")
        self.baseline = pn.widgets.Select(
            **label(ExplanationOptions.spec("baseline").label),
            options=list(ExplanationOptions.spec("baseline").choices or ()),
            value=o.baseline,
            width=110,
        )
        colorized = ExplanationOptions.spec("colorized_colormap")
        self.colorized_colormap = pn.widgets.Select(
            **label(colorized.label),
            options=list(colorized.choices or ()),
            value=o.colorized_colormap,
            width=160,
            css_classes=["lv-colorized-colormap"],
        )
        # One checkbox per registered method these models can run.
        runnable = registry.available(self.generator, resources.autoencoder)
        self.methods = pn.widgets.CheckBoxGroup(
            **label("methods"),
            options={registry.get(k).label: k for k in runnable},
            value=[k for k in o.methods if k in runnable],
            inline=True,
            css_classes=["lv-methods"],
        )
        given = o.method_settings()
        self.method_options = {
            (key, name): spec_input(spec, given.get(key, {}).get(name, default))
            for (key, name), (default, spec) in method_option_specs(runnable).items()
        }
        per_method: dict[str, list[Any]] = {}
        for (key, _), widget in self.method_options.items():
            per_method.setdefault(key, []).append(widget)
        self.method_cards = pn.Column(
            *[
                pn.Card(pn.FlexBox(*ws), title=registry.get(k).label, collapsed=True, width=360)
                for k, ws in per_method.items()
            ]
        )
        self.run_button = pn.widgets.Button(
            **label("Explain"), **primary(), disabled=True, css_classes=["lv-explain"], width=120
        )
        self.cancel_button = pn.widgets.Button(**label("Cancel"), disabled=True, width=100)
        self.progress = pn.indicators.Progress(
            value=0, max=1, width=220, visible=False, css_classes=["lv-progress"]
        )
        self.progress_text = pn.pane.HTML("", css_classes=["lv-progress-text"])
        self.show_mask = pn.widgets.Checkbox(
            **label("ground-truth lesion contour"), value=True, visible=False
        )
        self.low_fidelity = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["lv-low-fidelity"]
        )
        # The out-of-distribution verdict: shown as soon as an image is chosen, above every p.
        self.ood = pn.pane.Alert("", alert_type="secondary", visible=False, css_classes=["lv-ood"])
        self.panels = pn.FlexBox(css_classes=["lv-panels"], stylesheets=[IMAGE_CSS])
        self.colorbar = colorbar_block(
            ExplanationSession.colorbar(label=False),
            ExplanationSession.COLORBAR_LABEL,
            "lv-signed-bar",
            visible=False,
        )
        self.colorized_bar = colorbar_block(
            None, ExplanationSession.COLORIZED_LABEL, "lv-colorized-bar", visible=False
        )
        self._p_name = render.probability_label(self.classifier)  # e.g. p(positive)
        self.bars = pn.pane.HoloViews(None, visible=False)
        self._panels: dict[bool, list[Panel]] = {}

        self.file_input.param.watch(self._on_upload, "value")
        self.phantom_button.on_click(lambda _: self.use_phantom(self.phantom_seed.value))
        self.window.param.watch(lambda _: self._fit_upload(), "value")
        self.slice.param.watch(lambda _: self._fit_upload(), "value")
        self.run_button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self.session and self.session.cancel())
        self.show_mask.param.watch(lambda _: self._draw(), "value")
        self._reader: LatestWinsWorker[tuple[bytes, str], MedicalImage] = LatestWinsWorker(
            self._read, self._upload_ready, self._upload_failed, name="latentviz-upload"
        )

        if not resources.can_explain:
            why = (
                f"{self.generator.name} is not a conditional (z1, z2) generator"
                if not self.generator.is_conditional
                else "no classifier was given (--classifier)"
            )
            self.panel = pn.Column(
                pn.pane.Alert(
                    f"The Explain tab needs a medXGAN-style model and a classifier: {why}. "
                    "Start with e.g. `latentviz serve --model ct-medxgan`.",
                    alert_type="warning",
                ),
                name="Explain",
            )
            return
        source = pn.Column(
            pn.pane.Markdown(
                f"**Image to explain**: upload a DICOM, NIfTI, PNG/JPEG/TIFF or NPZ slice "
                f"(at most {limit:.0f} MB; identifiers are never shown) or pick a phantom sample.",
                width=320,
            ),
            self.file_input,
            self.current,
            self.upload_guard,
            pn.Row(self.phantom_seed, self.phantom_button),
            self.window,
            self.slice,
            pn.Card(
                pn.Row(self.restarts, self.steps, self.refine),
                pn.Row(self.ig_steps, self.lig_steps, self.baseline),
                self.colorized_colormap,
                self.methods,
                self.method_cards,
                title="options",
                collapsed=True,
                width=380,
            ),
            pn.Row(self.run_button, self.cancel_button),
            pn.Row(self.progress, self.progress_text),
            width=400,
        )
        shown = pn.Column(
            self.message,
            pn.Row(
                pn.Column(pn.pane.HTML("<b>image (windowed)</b>"), self.preview),
                pn.Column(pn.pane.HTML("<b>model input</b>"), self.model_input),
                stylesheets=[IMAGE_CSS],
            ),
            self.info,
        )
        self.panel = pn.Column(
            pn.Row(source, shown),
            self.ood,
            self.low_fidelity,
            self.show_mask,
            self.panels,
            pn.Row(pn.Column(self.colorbar, self.colorized_bar), self.bars),
            name="Explain",
        )

    # -- input ---------------------------------------------------------------------------------
    def _on_upload(self, event: Any) -> None:
        if event.new is None or event.new == b"":
            return
        data, name = event.new, self.file_input.filename or ""
        self.message.object = message_html("reading the upload …")
        self._reader.submit((data, name if isinstance(name, str) else ""))
        self.file_input.clear()  # the bytes are not kept in the widget

    def _upload_refused(self, size: int) -> None:
        kept = ". The previous image is kept." if self.session is not None else ""
        limit = self.resources.config.max_upload_bytes
        self.message.object = error_html(upload.too_large_message(size, limit) + kept)

    def _read(self, request: tuple[bytes, str]) -> MedicalImage:
        data, name = request
        return upload.read_upload(data, name, self.resources.config.max_upload_bytes)

    def _upload_ready(self, request: tuple[bytes, str], image: MedicalImage) -> None:
        self.ui.call(self.show_upload, image)

    def _upload_failed(self, request: tuple[bytes, str], exc: BaseException) -> None:
        kept = ". The previous image is kept." if self.session is not None else ""
        text = str(exc) if isinstance(exc, LatentvizError) else f"{type(exc).__name__}: {exc}"
        self.ui.call(setattr, self.message, "object", error_html(text + kept))

    def show_upload(self, image: MedicalImage) -> None:
        """Take a read upload as the image to explain (event loop)."""
        self.image = image
        options: dict[str, Any] = {}
        model_window = upload.model_window_for(image, self.generator)
        if model_window is not None:
            options[f"model's window (C {model_window[0]:g}, W {model_window[1]:g})"] = model_window
        if image.window is not None:
            options["the file's own window"] = "header"
        options["auto (0.5-99.5 percentiles)"] = "auto"
        if image.units == "HU":
            options.update({f"{name.replace('_', ' ')} (HU preset)": name for name in PRESETS})
        self.window.param.update(options=options, value=next(iter(options.values())), visible=True)
        if image.is_volume:
            n = image.shape[0]
            self.slice.param.update(end=n - 1, value=n // 2, visible=True)
        else:
            self.slice.visible = False
        self._fit_upload()

    def _fit_upload(self) -> None:
        if self.image is None:
            return
        try:
            shown = upload.upload_slice(self.image, self.slice.value if self.image.is_volume else None)
            window = self.window.value
            # The session fits the slice itself, so it also knows its modality (the OOD check).
            self._set_session(
                ExplanationSession(
                    shown,
                    self.generator,
                    self.classifier,
                    window=window,
                    options=self._options(),
                    autoencoder=self.resources.autoencoder,
                )
            )
            self.preview.object = upload.preview_png(shown, window)
            self.info.object = message_html("uploaded " + upload.describe(shown, window))
            self.current.object = message_html(f"in use: {upload.deidentified_label(self.image)}")
            self.message.object = message_html("ready: press Explain")
        except LatentvizError as exc:
            self.message.object = error_html(str(exc))

    def use_phantom(self, seed: int = 0) -> None:
        """Take a positive phantom sample (with its lesion mask) as the image to explain."""
        s = ExplanationSession.from_phantom(
            self.generator,
            self.classifier,
            seed=seed,
            options=self._options(),
            autoencoder=self.resources.autoencoder,
        )
        self.image = None
        self.window.visible = self.slice.visible = False
        self._set_session(s)
        self.preview.object = render.png_bytes(render.to_uint8(s.image[0]))
        self.info.object = message_html(f"phantom sample, seed {seed} (positive, lesion contour in green)")
        self.current.object = message_html(f"in use: phantom sample, seed {seed}")
        self.message.object = message_html("ready: press Explain")

    def _set_session(self, session: ExplanationSession) -> None:
        if self.session is not None and self.session.running:
            self.session.cancel()
        self.session = session
        self._clear_results()
        v = session.ood
        self.ood.param.update(
            object=("⚠ " if v.foreign else "") + v.message,
            alert_type="danger" if v.foreign else ("success" if v.in_distribution else "secondary"),
            visible=True,
        )
        self.model_input.object = render.png_bytes(render.to_uint8(session.image[0]))
        self.run_button.disabled = False

    def _options(self) -> Any:
        return replace(
            self.resources.config.explanation,
            restarts=self.restarts.value,
            inversion_steps=self.steps.value,
            refine_evals=self.refine.value,
            ig_steps=self.ig_steps.value,
            lig_steps=self.lig_steps.value,
            baseline=self.baseline.value,
            colorized_colormap=self.colorized_colormap.value,
            methods=tuple(self.methods.value),
            method_options=self._method_options(),
        )

    def _method_options(self) -> dict[str, dict[str, Any]]:
        out = {k: dict(v) for k, v in self.resources.config.explanation.method_options.items()}
        for (key, name), widget in self.method_options.items():
            out.setdefault(key, {})[name] = widget.value
        return out

    # -- explanation ----------------------------------------------------------------------------
    def start(self) -> None:
        """Run the explanation of the current image on a background thread."""
        s = self.session
        if s is None:
            self.message.object = error_html("upload an image or pick a phantom sample first")
            return
        try:
            s.options = self._options()
            s.options.check()
            self.budget.check()
            previous, self._watch = self._watch, self.budget.watch(s.cancel)  # before any _done
            try:
                s.start(
                    lambda res, s=s: self._done(s, res),
                    lambda exc, s=s: self._failed(s, exc),
                    lambda i, n, s=s: self._step(s, i, n),
                )
            except LatentvizError:
                self._budget_stop()
                self._watch = previous
                raise
        except LatentvizError as exc:
            self.message.object = error_html(str(exc))
            return
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self._show_progress(0, s.options.inversion_steps)
        self.progress.visible = True
        self.message.object = message_html("inverting the image into the generator …")

    def _step(self, s: ExplanationSession, step: int, total: int) -> None:
        now = time.monotonic()
        if s is self.session and (now - self._last_progress > 0.2 or step >= total):
            self._last_progress = now
            self.ui.call(self._show_progress, step, total)

    def _show_progress(self, step: int, total: int) -> None:
        # Panel validates value against the current max, so the max moves first; when it
        # shrinks the value must go first instead. Two updates in that order are always valid.
        total = max(1, int(total))
        step = max(0, min(int(step), total))
        if total >= self.progress.max:
            self.progress.max = total
            self.progress.value = step
        else:
            self.progress.value = min(step, total)
            self.progress.max = total
        self.progress_text.object = f"inversion step {min(step, total)} / {total}"

    def _budget_stop(self) -> str | None:
        watch, self._watch = self._watch, None
        return watch.stop() if watch is not None else None

    def _done(self, s: ExplanationSession, result: ExplanationResult) -> None:
        self._budget_stop()
        panels = {True: s.panels(show_mask=True), False: s.panels(show_mask=False)}  # off the loop
        self.ui.call(self._show_result, s, result, panels)

    def _failed(self, s: ExplanationSession, exc: BaseException) -> None:
        over = self._budget_stop()
        if isinstance(exc, ExplanationCancelled) and over:
            text = error_html(over)
        elif isinstance(exc, ExplanationCancelled):
            text = message_html("cancelled")
        else:
            text = error_html(str(exc) if isinstance(exc, LatentvizError) else f"{type(exc).__name__}: {exc}")
        self.ui.call(self._finish, s, text)

    def _finish(self, s: ExplanationSession, text: str) -> None:
        if s is not self.session:
            return  # a replaced session's last word
        self.run_button.disabled, self.cancel_button.disabled = False, True
        self.progress.visible = False
        self.progress_text.object = ""
        self.message.object = text

    def _show_result(self, s: ExplanationSession, result: ExplanationResult, panels: dict) -> None:
        if s is not self.session:
            return
        self.result, self._panels = result, panels
        secs = result.inversion.seconds + sum(a.seconds for a in result.attributions.values())
        self._finish(s, message_html(f"done in {secs:.1f} s"))
        self.show_mask.visible = result.mask is not None
        # every distinct warning (low fidelity, a failed counterfactual), not only the first
        warning = " · ".join(dict.fromkeys(p.warning for p in panels[True] if p.warning))
        self.low_fidelity.param.update(object=f"⚠ {warning}", visible=bool(warning))
        self.colorbar.visible = True
        self.colorized_bar[0].object = s.colorized_colorbar(label=False)
        self.colorized_bar.visible = True
        self.bars.param.update(object=self._probability_bars(panels[True]), visible=True)
        self._draw()
        if self.on_explained is not None:
            self.on_explained(result)

    def _clear_results(self) -> None:
        """Forget the panels of the previous image: they do not describe the new one."""
        self.result, self._panels = None, {}
        self.panels.objects = []
        self.show_mask.visible = False  # only a phantom's result has a ground-truth contour
        self.low_fidelity.visible = False
        self.colorbar.visible = self.colorized_bar.visible = self.bars.visible = False

    def _draw(self) -> None:
        if not self._panels:
            return
        cards = []
        for p in self._panels[bool(self.show_mask.value and self.show_mask.visible)]:
            border = "3px solid #d00" if p.warning else "1px solid #ccc"
            cards.append(
                pn.Column(
                    pn.pane.HTML(f"<b>{html.escape(p.title)}</b>"),
                    image_pane(p.png, self.size, f"lv-panel-{p.key}"),
                    pn.pane.HTML(f"<small>{html.escape(p.caption)}</small>", width=self.size),
                    styles={"border": border, "padding": "4px"},
                    width=self.size + 26,
                )
            )
        self.panels.objects = cards

    def _probability_bars(self, panels: list[Panel]) -> hv.Bars:
        rows = [
            (p.title, p.probability) for p in panels if p.key in ("original", "reconstruction", "negative")
        ]
        foreign = self.session is not None and self.session.ood.foreign
        title = "p not applicable: out of distribution" if foreign else "classifier probability"
        return hv.Bars(rows, "image", self._p_name).opts(
            ylim=(0, 1),
            width=380,
            height=220,
            title=title,
            toolbar=None,
            color="#cccccc" if foreign else "#4477aa",
            alpha=0.5 if foreign else 1.0,
        )

    # -- lifecycle ----------------------------------------------------------------------------
    def wait(self, timeout: float = 60.0) -> bool:
        """Block until uploads are read and a running explanation has finished (tests)."""
        ok = self._reader.wait_idle(timeout)
        return ok and (self.session is None or self.session.wait(timeout))

    def close(self) -> None:
        """Cancel a running explanation and stop the upload reader."""
        if self.session is not None and self.session.running:
            self.session.cancel()
        self._reader.close()
