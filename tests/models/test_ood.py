"""Out-of-distribution verdicts of the zoo CT classifier on foreign and on phantom images."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from pydicom.data import get_testdata_file

from latentviz import zoo
from latentviz.data import read_image
from latentviz.data.phantoms import generate
from latentviz.errors import ChecksumError
from latentviz.models import ood


@pytest.fixture(scope="module")
def ct_classifier():
    return zoo.load("ct-classifier", device="cpu")


def _dicom(name: str):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pydicom-data)")
    return read_image(path)


def test_every_zoo_classifier_card_states_its_threshold_and_training_data() -> None:
    for name in ("ct-classifier", "cxr-classifier", "brain-classifier"):
        card = zoo.card(name).config
        entry = card["ood"]
        assert entry["percentile"] == 99.0 and entry["threshold"] > 0 and entry["n_holdout"] >= 500
        assert (zoo.WEIGHTS_DIR / entry["file"]).is_file() and "recipes/ood_statistics.py" in entry["recipe"]
        assert card["training_data"]["modality"]
    assert zoo.card("ct-classifier").config["training_data"]["modality"] == ["CT"]


def test_random_noise_is_out_of_distribution(ct_classifier, tmp_path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    image = read_image(tmp_path / "noise.png")
    v = ood.check_image(ct_classifier, image.to_model_input(64), image=image)
    assert v.foreign and v.status == "out_of_distribution" and v.distance > v.threshold
    assert v.modality is None and "modality unknown" in " ".join(v.notes)
    assert v.probability_text(0.9996) == "n/a (out of distribution)"
    assert v.to_dict()["probability_applicable"] is False


@pytest.mark.parametrize("name, modality", [("MR_small.dcm", "MR"), ("RG1_UNCI.dcm", "CR")])
def test_mr_and_radiograph_are_foreign_to_the_ct_model(ct_classifier, name, modality) -> None:
    image = _dicom(name)
    v = ood.check_image(ct_classifier, image.to_model_input(64), image=image)
    assert v.foreign and v.modality == modality
    assert any(f"modality {modality}, but the model was trained on CT" in r for r in v.reasons)
    assert v.distance > v.threshold  # the features say so too
    assert "OUT OF DISTRIBUTION" in v.message and "not applicable" in v.message


def test_held_out_ct_phantoms_pass(ct_classifier) -> None:
    batch = generate("ct", 20, size=64, seed=4242, progress=False)
    verdicts = [
        ood.check_image(ct_classifier, torch.as_tensor(batch.images[i : i + 1]), modality="CT")
        for i in range(20)
    ]
    passed = sum(v.in_distribution for v in verdicts)
    assert passed >= 18  # the threshold is the 99th percentile of held-out phantoms
    assert verdicts[0].probability_text(0.91234) == "0.912"


def test_acquisition_check_without_statistics() -> None:
    card = SimpleNamespace(
        config={"training_data": {"modality": ["CT"], "photometric": ["MONOCHROME2"], "what": "CT"}}
    )
    reasons, _ = ood.check_acquisition(card, "CR", "MONOCHROME1")
    assert reasons and "CR" in reasons[0]
    reasons, notes = ood.check_acquisition(card, "CT", "RGB")
    assert "photometric RGB" in reasons[0] and "CT matches" in notes[0]
    v = ood.check_image(card, torch.zeros(1, 1, 8, 8), modality="CT")
    assert v.status == "unchecked" and not v.foreign


def test_fit_statistics_threshold_is_the_holdout_percentile() -> None:
    rng = np.random.default_rng(0)
    train, holdout = rng.normal(size=(400, 4)), rng.normal(size=(200, 4))
    stats = ood.fit_feature_statistics(train, np.arange(400) % 2, holdout, percentile=90)
    assert np.mean(stats.distance(holdout) <= stats.threshold) == pytest.approx(0.9, abs=0.01)
    assert stats.distance(np.full((1, 4), 50.0))[0] > stats.threshold


def test_a_modified_statistics_file_is_refused(ct_classifier, tmp_path, monkeypatch) -> None:
    entry = ct_classifier.config["ood"]
    (tmp_path / entry["file"]).write_bytes((zoo.WEIGHTS_DIR / entry["file"]).read_bytes() + b"x")
    clf = zoo.load("ct-classifier", device="cpu")
    with pytest.raises(ChecksumError):
        ood.load_feature_statistics(clf, weights_dir=tmp_path)
