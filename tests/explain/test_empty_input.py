"""Empty batches and wrong channel counts give typed errors, not torch's (issue 14, item 14)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.core.explanation import ExplanationSession
from latentviz.errors import LatentError, LatentvizError, ShapeError
from latentviz.explain import (
    GradCam,
    IntegratedGradients,
    LatentIntegratedGradients,
    counterfactual,
    difference_map,
    interpolate,
    latent_integrated_gradients,
    negative_realization,
)


def _empty_latents(generator) -> torch.Tensor:
    return torch.zeros(0, *generator.latent_shape)


@pytest.mark.parametrize(
    "call",
    [
        lambda g, c, z: negative_realization(g, z),
        lambda g, c, z: difference_map(g, z),
        lambda g, c, z: counterfactual(g, c, z),
        lambda g, c, z: LatentIntegratedGradients(g, c).attribute(z),
        lambda g, c, z: latent_integrated_gradients(g, c, z),
        lambda g, c, z: interpolate(g, z, z),
        lambda g, c, z: g.generate(z),
    ],
    ids=[
        "negative_realization",
        "difference_map",
        "counterfactual",
        "lig",
        "lig_fn",
        "interpolate",
        "generate",
    ],
)
def test_an_empty_latent_batch_is_a_latent_error(toy_generator, toy_classifier, call) -> None:
    with pytest.raises(LatentError, match="empty"):
        call(toy_generator, toy_classifier, _empty_latents(toy_generator))


@pytest.mark.parametrize("image", [torch.zeros(0), np.zeros((0, 16)), torch.zeros(0, 1, 16, 16)])
def test_an_empty_image_to_the_explanation_session_is_a_shape_error(
    toy_generator, toy_classifier, image
) -> None:
    with pytest.raises(ShapeError, match="empty"):
        ExplanationSession(image, toy_generator, toy_classifier)


@pytest.mark.parametrize("method", [GradCam, IntegratedGradients])
def test_three_channels_to_a_one_channel_classifier_say_so(toy_classifier, method) -> None:
    with pytest.raises(ShapeError, match="expects 1 channels, got 3"):
        method(toy_classifier).attribute(torch.zeros(1, 3, 16, 16))


def test_three_channels_to_the_classifier_itself_say_so(toy_classifier) -> None:
    with pytest.raises(LatentvizError, match="channels"):
        toy_classifier.probability(torch.zeros(1, 3, 16, 16))
