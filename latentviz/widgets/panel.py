"""ExplanationPanel: original, reconstruction, counterfactual and attribution maps side by side.

A thin ipywidgets view over :class:`latentviz.core.ExplanationSession`: the inversion runs
on a background thread (the kernel stays responsive), a progress bar follows it and a
cancel button stops it. Panels are PNG bytes with captions computed by the core.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

import ipywidgets as w
import traitlets

from latentviz.bounds import Bound, OptionSpec, RealBound
from latentviz.core import render
from latentviz.core.explanation import (
    ExplanationCancelled,
    ExplanationOptions,
    ExplanationResult,
    ExplanationSession,
    method_option_specs,
)
from latentviz.errors import LatentvizError, OptionError
from latentviz.explain import registry
from latentviz.widgets._static import StaticFallback

__all__ = ["ExplanationPanel"]


def _int_text(options: ExplanationOptions, name: str, description: str | None = None) -> w.BoundedIntText:
    """A bounded integer box for option ``name``, its range from :meth:`ExplanationOptions.spec`."""
    spec = ExplanationOptions.spec(name)
    return w.BoundedIntText(
        value=getattr(options, name),
        min=spec.low,
        max=spec.high,
        description=description or spec.label,
        tooltip=spec.doc,
        style={"description_width": "initial"},
    )


def _verdict_html(session: ExplanationSession) -> str:
    """The session's out-of-distribution verdict as a coloured banner."""
    v = session.ood
    colour = ("#fdd", "#900") if v.foreign else (("#dfd", "#060") if v.in_distribution else ("#eee", "#333"))
    return (
        f"<div style='background:{colour[0]};color:{colour[1]};padding:4px'>"
        f"{'⚠ ' if v.foreign else ''}{html.escape(v.message)}</div>"
    )


def _spec_widget(spec: OptionSpec, value: Any) -> w.Widget:
    """A widget for one declared method option, its range or choices from ``spec``."""
    style = {"description_width": "initial"}
    if spec.choices == (True, False):
        return w.Checkbox(value=bool(value), description=spec.label, tooltip=spec.doc, indent=False)
    if spec.choices is not None:
        return w.Dropdown(options=list(spec.choices), value=value, description=spec.label, style=style)
    if isinstance(spec.bound, Bound):
        return w.BoundedIntText(
            value=value, min=spec.low, max=spec.high, description=spec.label, tooltip=spec.doc, style=style
        )
    if isinstance(spec.bound, RealBound):
        lo = -1e300 if spec.low is None else spec.low
        hi = 1e300 if spec.high is None else spec.high
        return w.BoundedFloatText(
            value=value, min=lo, max=hi, description=spec.label, tooltip=spec.doc, style=style
        )
    return w.Text(value=str(value), description=spec.label, tooltip=spec.doc, style=style)


class ExplanationPanel(StaticFallback, w.VBox):
    """Side-by-side explanation of one image with method options, progress and cancel.

    Parameters
    ----------
    image_or_path
        Model-range image (tensor/array), a :class:`~latentviz.data.MedicalImage` (what
        :func:`~latentviz.data.read_image` returns) or a file path; see
        :class:`~latentviz.core.ExplanationSession`.
    generator, classifier
        A conditional generator and the classifier to explain.
    session
        An existing session to show instead.
    run
        Start the inversion at once.
    panel_width
        Displayed width of each panel.
    **session_options
        Passed to the session (``mask``, ``window``, ``options``).

    Notes
    -----
    Traits: ``value``, the selected methods (a tuple of registry keys, linked to the method
    checkboxes), and ``done`` (True once an explanation has finished). Saved notebooks keep
    the explanation figure of the last result beside the live view.
    """

    value = traitlets.Tuple(help="selected attribution methods (registry keys)")
    done = traitlets.Bool(False, help="an explanation has finished")

    def __init__(
        self,
        image_or_path: Any = None,
        generator: Any = None,
        classifier: Any = None,
        *,
        session: ExplanationSession | None = None,
        run: bool = True,
        panel_width: int = 160,
        **session_options: Any,
    ) -> None:
        if session is None:
            session = ExplanationSession(image_or_path, generator, classifier, **session_options)
        self.session = s = session
        o = s.options
        names = list(s.classifier.target_names)
        tgt = s.classifier.target if o.target is None else o.target
        self.target = w.Dropdown(
            options=[(n, i) for i, n in enumerate(names)], value=tgt, description="target"
        )
        # Ranges come from the one declaration that check() enforces.
        self.ig_steps = _int_text(o, "ig_steps")
        self.lig_steps = _int_text(o, "lig_steps")
        self.baseline = w.Dropdown(
            options=list(ExplanationOptions.spec("baseline").choices or ()),
            value=o.baseline,
            description=ExplanationOptions.spec("baseline").label,
        )
        self.steps = _int_text(o, "inversion_steps", description="inversion steps")
        self.restarts = _int_text(o, "restarts")
        # One checkbox per registered method these models can run.
        self.methods = {
            key: w.Checkbox(
                value=key in o.methods,
                description=registry.get(key).label,
                indent=False,
                layout=w.Layout(width="auto"),
            )
            for key in s.available_methods
        }
        # A widget per other declared option of those methods (the same declarations the
        # server enforces); shown per method in an accordion.
        given = o.method_settings()
        self.method_options = {
            (key, name): _spec_widget(spec, given.get(key, {}).get(name, default))
            for (key, name), (default, spec) in method_option_specs(self.methods).items()
        }
        per_method: dict[str, list[w.Widget]] = {}
        for (key, _), widget in self.method_options.items():
            per_method.setdefault(key, []).append(widget)
        self.method_accordion = w.Accordion(
            children=[w.VBox(ws) for ws in per_method.values()],
            titles=tuple(registry.get(k).label for k in per_method),
            selected_index=None,
        )
        self.run_button = w.Button(description="Explain", icon="play", button_style="primary")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=o.inversion_steps, description="inversion")
        self.status = w.HTML()
        self.warning = w.HTML()
        self.verdict = w.HTML(_verdict_html(s))  # the OOD verdict, above every probability
        self.verdict.add_class("lv-ood")
        self.show_mask = w.Checkbox(
            value=s.mask is not None, description="ground-truth mask", disabled=s.mask is None
        )
        self._width = panel_width
        self.panels = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.panels.add_class("lv-panels")  # stable hooks for styling and browser tests
        self.status.add_class("lv-status")
        bar = s.colorbar(2 * panel_width)
        self.colorbar = w.Image(  # drawn at its natural width, so its labels stay sharp
            value=bar, format="png", width=render.png_size(bar)[0]
        )
        self.colorized_bar = w.Image(format="png", layout=w.Layout(display="none"))
        self.colorized_bar.add_class("lv-colorized-bar")
        spec = ExplanationOptions.spec("colorized_colormap")
        self.colorized_colormap = w.Dropdown(
            options=list(spec.choices or ()), value=o.colorized_colormap, description="colorized"
        )
        self.run_button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self.session.cancel())
        self.show_mask.observe(lambda _: self._draw(), names="value")
        options = w.VBox(
            [
                w.HBox([self.target, self.baseline, self.show_mask]),
                w.HBox([self.colorized_colormap]),
                w.HBox([self.ig_steps, self.lig_steps]),
                w.HBox([self.steps, self.restarts]),
                w.HBox(list(self.methods.values()), layout=w.Layout(flex_flow="row wrap")),
                self.method_accordion,
                w.HBox([self.run_button, self.cancel_button, self.progress]),
            ]
        )
        super().__init__(
            [
                options,
                self.verdict,
                self.status,
                self.warning,
                self.panels,
                w.HBox([self.colorbar, self.colorized_bar]),
            ]
        )
        self.value = tuple(k for k, box in self.methods.items() if box.value)
        for box in self.methods.values():
            box.observe(lambda _: self._boxes_to_value(), names="value")
        self.observe(self._value_to_boxes, names="value")
        if run:
            self.start()

    def start(self) -> None:
        """Read the options and run the explanation off the UI path."""
        s = self.session
        try:
            s.options = self.options()
            s.options.check()
            self.progress.max, self.progress.value = s.options.inversion_steps, 0
            self.progress.description = "inversion"
            s.start(self._done, self._failed, self._step)
        except LatentvizError as exc:
            self._message(str(exc), error=True)
            return
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self._message("inverting the image into the generator …")

    def options(self) -> ExplanationOptions:
        """The session's options with the widgets' values (the rest kept as they are)."""
        return replace(
            self.session.options,
            target=self.target.value,
            ig_steps=self.ig_steps.value,
            lig_steps=self.lig_steps.value,
            baseline=self.baseline.value,
            colorized_colormap=self.colorized_colormap.value,
            restarts=self.restarts.value,
            inversion_steps=self.steps.value,
            methods=tuple(k for k, box in self.methods.items() if box.value),
            method_options=self._method_options(),
        )

    @traitlets.validate("value")
    def _check_value(self, proposal: dict) -> tuple[str, ...]:
        v = tuple(proposal["value"])
        known = tuple(self.methods) if hasattr(self, "methods") else v
        bad = [m for m in v if m not in known]
        if bad:
            raise OptionError(
                "value", v, "registry keys of methods these models can run: " + ", ".join(known)
            )
        return v

    def _boxes_to_value(self) -> None:
        self.value = tuple(k for k, box in self.methods.items() if box.value)

    def _value_to_boxes(self, change: dict) -> None:
        for k, box in self.methods.items():
            box.value = k in change["new"]

    # -- static picture -------------------------------------------------------------------
    def to_png(self) -> bytes | None:
        """The figure of the last explanation (every panel, captioned), or None before one."""
        return (
            None if self.session.result is None else self.session.figure_png(show_mask=self.show_mask.value)
        )

    def describe(self) -> str:
        state = "explained" if self.session.result is not None else "not explained yet"
        return f"ExplanationPanel: {self.session.generator.name} / {self.session.classifier.name}, {state}"

    def _method_options(self) -> dict[str, dict[str, Any]]:
        out = {k: dict(v) for k, v in self.session.options.method_options.items()}
        for (key, name), widget in self.method_options.items():
            out.setdefault(key, {})[name] = widget.value
        return out

    def _step(self, step: int, total: int) -> None:
        if total != self.progress.max:  # the L-BFGS polish extends the run past the Adam steps
            self.progress.max = total
            self.progress.description = "refining"
        if step == total or step % 5 == 0:
            self.progress.value = step

    def _done(self, result: ExplanationResult) -> None:
        self.progress.value = self.progress.max
        self.run_button.disabled, self.cancel_button.disabled = False, True
        secs = result.inversion.seconds + sum(a.seconds for a in result.attributions.values())
        self._message(f"done in {secs:.1f} s")
        self.done = True
        bar = self.session.colorized_colorbar(self._width)
        self.colorized_bar.value, self.colorized_bar.width = bar, render.png_size(bar)[0]
        self.colorized_bar.layout.display = None
        self._draw()

    def _failed(self, exc: BaseException) -> None:
        self.run_button.disabled, self.cancel_button.disabled = False, True
        if isinstance(exc, ExplanationCancelled):
            self._message("cancelled")
        else:
            self._message(f"{type(exc).__name__}: {exc}", error=True)

    def _message(self, text: str, error: bool = False) -> None:
        color = "#b00" if error else "#333"
        self.status.value = f"<span style='color:{color}'>{html.escape(text)}</span>"

    def _draw(self) -> None:
        if self.session.result is None:
            return
        boxes = []
        warn = ""
        for p in self.session.panels(show_mask=self.show_mask.value):
            border = "3px solid #d00" if p.warning else "1px solid #ccc"
            if p.warning and p.warning not in warn:  # every distinct warning, once
                warn = f"{warn} · {p.warning}" if warn else p.warning
            boxes.append(
                w.VBox(
                    [
                        w.HTML(f"<b>{html.escape(p.title)}</b>"),
                        self._image(p.png, border),
                        w.HTML(
                            f"<small>{html.escape(p.caption)}</small>",
                            layout=w.Layout(width=f"{self._width + 10}px"),
                        ),
                    ]
                )
            )
        self.panels.children = boxes
        self.warning.value = (
            "<div style='background:#fdd;color:#900;padding:4px;font-weight:bold'>"
            f"⚠ {html.escape(warn)}</div>"
            if warn
            else ""
        )

    def _image(self, png: bytes, border: str) -> w.Image:
        img = w.Image(value=png, format="png", width=self._width, layout=w.Layout(border=border))
        img.add_class("lv-panel-image")
        return img

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a running explanation has finished (for scripts and tests)."""
        return self.session.wait(timeout)

    @classmethod
    def from_zoo(
        cls,
        model: str,
        classifier: str | None = None,
        image: Any = None,
        *,
        index: int = 0,
        seed: int = 0,
        window: Any = None,
        options: ExplanationOptions | None = None,
        autoencoder: Any = None,
        **kw: Any,
    ) -> ExplanationPanel:
        """Explain an image with zoo models: ``ExplanationPanel.from_zoo("cxr-medxgan")``.

        ``classifier=None`` takes the zoo classifier of the generator's phantom;
        ``image=None`` a positive phantom sample, whose ground-truth mask is shown;
        ``autoencoder="cxr-gaan"`` adds the style walks (a VAE: Latent Shift).
        """
        s = ExplanationSession.from_zoo(
            model,
            classifier,
            image,
            index=index,
            seed=seed,
            window=window,
            options=options,
            autoencoder=autoencoder,
        )
        return cls(session=s, **kw)

    @classmethod
    def from_phantom(
        cls,
        generator: Any,
        classifier: Any,
        kind: str | None = None,
        index: int = 0,
        seed: int = 0,
        options: ExplanationOptions | None = None,
        autoencoder: Any = None,
        **kw: Any,
    ) -> ExplanationPanel:
        """Explain a positive phantom sample; its ground-truth mask is shown."""
        s = ExplanationSession.from_phantom(
            generator, classifier, kind, index, seed, options, autoencoder=autoencoder
        )
        return cls(session=s, **kw)
