"""Models load once per process; sessions get private copies of what they may change."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.dashboard.resources import DashboardConfig, clear_cache, load_resources
from latentviz.directions import DirectionSet
from latentviz.errors import DirectionSetMismatchError, LatentvizError


def test_default_config_serves_the_ct_zoo(resources) -> None:
    assert resources.generator.name == "ct-medxgan"
    assert resources.classifier is not None and resources.classifier.name == "ct-classifier"
    assert resources.directions.method == "sefa" and len(resources.directions.directions) == 6
    assert resources.can_explain


def test_same_config_returns_the_same_loaded_models(resources) -> None:
    again = load_resources(DashboardConfig())
    assert again is resources and again.generator is resources.generator


def test_session_copies_are_private(resources) -> None:
    a, b = resources.session_directions(), resources.session_directions()
    a.rename(0, "renamed in one session")
    assert b.names[0] != "renamed in one session"
    assert resources.directions.names[0] != "renamed in one session"
    np.testing.assert_array_equal(a.directions, resources.directions.directions)
    clf = resources.session_classifier()
    assert clf.module is not resources.classifier.module and clf.sha256 == resources.classifier.sha256


def test_saved_directions_are_checked_against_the_model(tmp_path, resources) -> None:
    ds = DirectionSet.load(resources.directions.save(tmp_path / "dirs")[0].with_suffix(""))
    cfg = DashboardConfig(directions=str(tmp_path / "dirs"))
    try:
        res = load_resources(cfg)
        assert res.directions.names == ds.names and res.generator is not None
        with pytest.raises(DirectionSetMismatchError):
            load_resources(DashboardConfig(model="ct-dcgan", directions=str(tmp_path / "dirs")))
    finally:
        clear_cache(cfg)


def test_a_plain_generator_serves_without_the_explain_tab() -> None:
    cfg = DashboardConfig(model="ct-dcgan", k=3)
    try:
        res = load_resources(cfg)
        assert not res.can_explain and res.classifier.name == "ct-classifier"
        assert len(res.directions.directions) == 3
    finally:
        clear_cache(cfg)


def test_bad_configs_are_clear_errors() -> None:
    with pytest.raises(LatentvizError, match="directions must be >= 1"):
        load_resources(DashboardConfig(k=0))
    with pytest.raises(LatentvizError, match="not a generator"):
        load_resources(DashboardConfig(model="ct-classifier"))
    with pytest.raises(LatentvizError, match="not a classifier"):
        load_resources(DashboardConfig(classifier="ct-dcgan"))


def test_sessions_share_one_batched_forward_when_switched_on(resources) -> None:
    import argparse

    from latentviz.cli.serve import add_arguments
    from latentviz.core.batching import FrameCalls
    from latentviz.dashboard.app import DashboardSession
    from latentviz.dashboard.resources import Resources

    assert resources.frame_calls is None  # the default: each session renders on its own
    resources = Resources(
        DashboardConfig(batch_frames=True), resources.generator, resources.classifier, resources.directions
    )
    assert isinstance(resources.frame_calls, FrameCalls)
    assert resources.frame_calls.classifier is resources.classifier
    a, b = DashboardSession(resources), DashboardSession(resources)
    try:
        for s in (a, b):
            s.directions.session.set_value(0, 1.0)
            s.directions.session.render()
        calls = resources.frame_calls.generator(a.directions.session.generator)
        assert calls is resources.frame_calls.generator(b.directions.session.generator)
        assert calls.stats.requests >= 2
    finally:
        a.close()
        b.close()
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert p.parse_args([]).batch_frames is False
    assert p.parse_args(["--batch-frames"]).batch_frames is True
