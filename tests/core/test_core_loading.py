from __future__ import annotations

import pytest

from latentviz.core.loading import discover, load_classifier, load_generator
from latentviz.errors import LatentvizError


def test_discover_names_a_method(generator) -> None:
    ds = discover(generator, "sefa", k=3)
    assert ds.method == "sefa" and len(ds) == 3 and ds.model_sha256 == generator.sha256
    with pytest.raises(LatentvizError, match="unknown direction method"):
        discover(generator, "magic")


def test_load_passes_objects_through_and_refuses_others(generator, classifier) -> None:
    assert load_generator(generator) is generator
    assert load_classifier(classifier) is classifier and load_classifier(None) is None
    with pytest.raises(LatentvizError, match="expected a Generator"):
        load_generator(3.0)
    with pytest.raises(LatentvizError, match="expected a Classifier"):
        load_classifier(3.0)
