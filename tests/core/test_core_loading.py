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


def test_model_intensity_and_phantom_kind() -> None:
    from core_toys import toy_generator

    from latentviz.core.loading import model_intensity, phantom_kind

    assert model_intensity(toy_generator()) == (None, None) and phantom_kind(toy_generator()) is None
    ct = toy_generator(config={"data": "ct"})
    assert phantom_kind(ct) == "ct" and model_intensity(ct) == ((-600.0, 1500.0), "HU")
    assert model_intensity(toy_generator(config={"window": [40, 400], "units": "HU"})) == (
        (40.0, 400.0),
        "HU",
    )
    assert model_intensity(toy_generator(config={"data": "cxr"}))[1] == "brightness"


def test_default_classifier_is_the_zoo_model_of_the_phantom() -> None:
    from core_toys import toy_generator

    from latentviz.core.loading import default_classifier

    clf = default_classifier(toy_generator(config={"data": "brain"}))
    assert clf is not None and clf.name == "brain-classifier"
    assert default_classifier(toy_generator()) is None


def test_as_model_image_checks_its_input(generator, tmp_path) -> None:
    import numpy as np
    from PIL import Image

    from latentviz.core.loading import as_model_image
    from latentviz.errors import ShapeError

    x = as_model_image(np.zeros((32, 32), np.float32), generator)
    assert x.shape == (1, 1, 32, 32)
    with pytest.raises(ShapeError, match="one image"):
        as_model_image(np.zeros((2, 1, 32, 32), np.float32), generator)
    with pytest.raises(ShapeError, match="NaN"):
        as_model_image(np.full((32, 32), np.nan, np.float32), generator)
    ramp = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    y = as_model_image(tmp_path / "ramp.png", generator)  # read, resized to 32 px, in [-1, 1]
    assert y.shape == (1, 1, 32, 32) and y.min() >= -1 and y.max() <= 1
    assert float(y[0, 0, 0, -1]) > float(y[0, 0, 0, 0])
