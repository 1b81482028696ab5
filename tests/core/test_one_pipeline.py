"""One image, one pipeline: the notebook panel, the dashboard's Explain tab and
``latentviz explain`` give identical maps and numbers, with one set of defaults; and every
front end lists exactly the registered methods."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from latentviz.cli import build_parser, main
from latentviz.cli.explain import load_image, options_from_args
from latentviz.core.explanation import ExplanationOptions, ExplanationSession
from latentviz.core.loading import load_model
from latentviz.explain import registry
from latentviz.models.architectures import build
from latentviz.models.io import save_model

METHODS = ("gradcam", "ig", "lig", "saliency", "deeplift")
OPTS = ExplanationOptions(
    restarts=1, inversion_steps=4, refine_evals=3, ig_steps=4, lig_steps=4, n_frames=4, methods=METHODS
)
CLI_FAST = ["--restarts", "1", "--steps", "4", "--refine-evals", "3", "--ig-steps", "4", "--lig-steps", "4",
            "--frames", "4", "--methods", *METHODS]  # fmt: skip


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    gk = {"anatomy_dim": 8, "pathology_dim": 2, "image_size": 32, "width": 8}
    save_model(build("medxgan", **gk), {"architecture": "medxgan", "kwargs": gk}, d / "gen")
    ck = {"width": 4}
    save_model(build("cnn-classifier", **ck), {"architecture": "cnn-classifier", "kwargs": ck}, d / "clf")
    return {k: str(d / f"{k}.safetensors") for k in ("gen", "clf")}


@pytest.fixture(scope="module")
def models(model_files):
    return load_model(model_files["gen"], "cpu"), load_model(model_files["clf"], "cpu")


def _session(models) -> ExplanationSession:
    g, c = models
    x, mask = load_image("phantom:cxr:3", g.image_shape[-1])
    return ExplanationSession(x, g, c, mask=mask, options=OPTS)


def _notebook(models):
    from latentviz.widgets import ExplanationPanel

    panel = ExplanationPanel(session=_session(models), run=False)
    assert {k for k, box in panel.methods.items() if box.value} == set(METHODS)
    panel.start()
    assert panel.wait(120) and panel.session.result is not None
    return panel.session.result


def _dashboard(models):
    pytest.importorskip("panel")
    from latentviz.dashboard.dispatch import UiThread
    from latentviz.dashboard.explain_tab import ExplainTab
    from latentviz.dashboard.resources import DashboardConfig, Resources

    g, c = models
    tab = ExplainTab(Resources(DashboardConfig(explanation=OPTS), g, c, directions=None), UiThread())
    assert set(tab.methods.value) == set(METHODS)
    s = _session(models)
    tab._set_session(ExplanationSession(s.image, tab.generator, tab.classifier, mask=s.mask, options=OPTS))
    tab.start()
    assert tab.wait(120) and tab.result is not None, tab.message.object
    return tab.result


def test_notebook_dashboard_and_cli_give_identical_maps(models, model_files, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["explain", "phantom:cxr:3", "--model", model_files["gen"], "--classifier", model_files["clf"],
            "--out", str(out), *CLI_FAST, "--quiet", "--json"]  # fmt: skip
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    maps = np.load(out / "explanation.npz")
    results = {
        "session": _session(models).run(),
        "notebook": _notebook(models),
        "dashboard": _dashboard(models),
    }
    for where, r in results.items():
        assert set(r.attributions) == set(METHODS), where
        assert r.probability == cli["probability"]["original"], where
        assert float(r.counterfactual.probability_negative[0]) == cli["probability"]["negative"], where
        assert np.array_equal(r.counterfactual.difference[0].numpy(), maps["difference"]), where
        for key, a in r.attributions.items():
            assert np.array_equal(a.map[0].numpy(), maps[key]), (where, key)
            assert a.options == cli["methods"][key]["options"], (where, key)
            if a.delta is not None:
                assert float(a.delta[0]) == cli["methods"][key]["completeness_delta"], (where, key)
        assert np.array_equal(r.attributions["lig"].extras["paper_map"][0].numpy(), maps["lig_paper"])


def test_cli_defaults_are_the_session_defaults():
    args = build_parser().parse_args(["explain", "phantom:cxr:0", "--model", "m", "--classifier", "c",
                                      "--out", "o"])  # fmt: skip
    assert options_from_args(args) == ExplanationOptions()
    d = ExplanationOptions()
    assert d.ig_steps == registry.get("ig").defaults()["n_steps"]
    assert d.lig_steps == registry.get("lig").defaults()["n_steps"]
    assert d.methods == registry.default_methods()
    from latentviz.batch import JobOptions

    job = JobOptions(command="explain")
    assert (job.ig_steps, job.lig_steps, job.methods) == (d.ig_steps, d.lig_steps, d.methods)


def _choices(argv: list[str], dest: str = "methods") -> list[str]:
    """The ``choices`` of option ``dest`` of the subcommand parser that ``argv`` reaches."""
    import argparse

    parser = build_parser()
    for name in argv:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return list(next(a for a in parser._actions if a.dest == dest).choices)


def test_every_front_end_lists_the_registry(models):
    keys = list(registry.keys())
    assert _choices(["explain"]) == keys
    assert _choices(["evaluate", "explanations"]) == keys
    assert _choices(["batch"]) == keys
    assert list(ExplanationOptions.spec("methods").choices) == keys
    # The views offer every registered method the models can run (here: all but Latent Shift
    # and the style walks, which need an autoencoder).
    g, c = models
    runnable = list(registry.available(g))
    assert runnable == [k for k in keys if k not in ("latent_shift", "style_cf", "style_lig")]
    from latentviz.widgets import ExplanationPanel

    panel = ExplanationPanel(session=_session(models), run=False)
    assert list(panel.methods) == runnable
    pytest.importorskip("panel")
    from latentviz.dashboard.dispatch import UiThread
    from latentviz.dashboard.explain_tab import ExplainTab
    from latentviz.dashboard.resources import DashboardConfig, Resources

    tab = ExplainTab(Resources(DashboardConfig(), g, c, directions=None), UiThread())
    assert list(tab.methods.options.values()) == runnable
    assert list(tab.methods.options) == [registry.get(k).label for k in runnable]


def test_view_method_options_come_from_the_declarations(models):
    from latentviz.errors import OptionError
    from latentviz.widgets import ExplanationPanel

    spec = registry.get("occlusion").options["window"].spec
    panel = ExplanationPanel(session=_session(models), run=False)
    box = panel.method_options[("occlusion", "window")]
    assert (box.min, box.max) == (spec.low, spec.high) and box.value == 8
    box.value = 4
    assert panel.options().method_options["occlusion"]["window"] == 4
    pytest.importorskip("panel")
    from latentviz.dashboard.dispatch import UiThread
    from latentviz.dashboard.explain_tab import ExplainTab
    from latentviz.dashboard.resources import DashboardConfig, Resources

    g, c = models
    tab = ExplainTab(Resources(DashboardConfig(), g, c, directions=None), UiThread())
    widget = tab.method_options[("occlusion", "window")]
    assert (widget.start, widget.end) == (spec.low, spec.high)
    widget.value = 4
    assert tab._options().method_options["occlusion"]["window"] == 4
    # The server enforces the same declaration whatever a view sends.
    with pytest.raises(OptionError, match=r"occlusion\.window"):
        ExplanationOptions(methods=("occlusion",), method_options={"occlusion": {"window": 10**6}}).check()
