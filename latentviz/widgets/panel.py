"""ExplanationPanel: original, reconstruction, counterfactual and attribution maps side by side.

A thin ipywidgets view over :class:`latentviz.core.ExplanationSession`: the inversion runs
on a background thread (the kernel stays responsive), a progress bar follows it and a
cancel button stops it. Panels are PNG bytes with captions computed by the core.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from latentviz.core.explanation import (
    ExplanationCancelled,
    ExplanationOptions,
    ExplanationResult,
    ExplanationSession,
)
from latentviz.errors import LatentvizError

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


class ExplanationPanel(w.VBox):
    """Side-by-side explanation of one image with method options, progress and cancel.

    Parameters
    ----------
    image_or_path
        Model-range image (tensor/array) or a file path; see
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
    """

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
        self.run_button = w.Button(description="Explain", icon="play", button_style="primary")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=o.inversion_steps, description="inversion")
        self.status = w.HTML()
        self.warning = w.HTML()
        self.show_mask = w.Checkbox(
            value=s.mask is not None, description="ground-truth mask", disabled=s.mask is None
        )
        self._width = panel_width
        self.panels = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.panels.add_class("lv-panels")  # stable hooks for styling and browser tests
        self.status.add_class("lv-status")
        self.colorbar = w.Image(  # drawn at its natural width, so its labels stay sharp
            value=s.colorbar(2 * panel_width), format="png", width=2 * panel_width + 48
        )
        self.run_button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self.session.cancel())
        self.show_mask.observe(lambda _: self._draw(), names="value")
        options = w.VBox(
            [
                w.HBox([self.target, self.baseline, self.show_mask]),
                w.HBox([self.ig_steps, self.lig_steps]),
                w.HBox([self.steps, self.restarts]),
                w.HBox([self.run_button, self.cancel_button, self.progress]),
            ]
        )
        super().__init__([options, self.status, self.warning, self.panels, self.colorbar])
        if run:
            self.start()

    def start(self) -> None:
        """Read the options and run the explanation off the UI path."""
        s = self.session
        s.options = ExplanationOptions(
            target=self.target.value,
            ig_steps=self.ig_steps.value,
            lig_steps=self.lig_steps.value,
            baseline=self.baseline.value,
            restarts=self.restarts.value,
            inversion_steps=self.steps.value,
            methods=s.options.methods,
            seed=s.options.seed,
            refine_evals=s.options.refine_evals,
        )
        try:
            s.options.check()
            self.progress.max, self.progress.value = s.options.inversion_steps, 0
            self.progress.description = "inversion"
            s.start(self._done, self._failed, self._step)
        except LatentvizError as exc:
            self._message(str(exc), error=True)
            return
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self._message("inverting the image into the generator …")

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
            warn = warn or p.warning
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
        **kw: Any,
    ) -> ExplanationPanel:
        """Explain an image with zoo models: ``ExplanationPanel.from_zoo("cxr-medxgan")``.

        ``classifier=None`` takes the zoo classifier of the generator's phantom;
        ``image=None`` a positive phantom sample, whose ground-truth mask is shown.
        """
        s = ExplanationSession.from_zoo(
            model, classifier, image, index=index, seed=seed, window=window, options=options
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
        **kw: Any,
    ) -> ExplanationPanel:
        """Explain a positive phantom sample; its ground-truth mask is shown."""
        s = ExplanationSession.from_phantom(generator, classifier, kind, index, seed, options)
        return cls(session=s, **kw)
