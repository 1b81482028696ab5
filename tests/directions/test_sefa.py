from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latentviz.directions import find_latent_layer, latent_weight, sefa
from latentviz.errors import ShapeError
from latentviz.models import Generator


def _reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent route: SVD of the row-normalised weight (singular values² = eigenvalues)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    return s**2, vt


def test_sefa_matches_independent_decomposition(conv_generator):
    ds = sefa(conv_generator)
    a = conv_generator.module.latent_layer.weight.detach().double().numpy()
    values, vectors = _reference(a)
    np.testing.assert_allclose(ds.scores, values, rtol=1e-8)
    assert np.all(np.diff(ds.scores) <= 0)
    # sign-invariant: |cos| = 1 row by row
    np.testing.assert_allclose(np.abs(np.sum(ds.directions * vectors, axis=1)), 1.0, atol=1e-5)
    assert ds.method == "sefa" and ds.model_sha256 == conv_generator.sha256
    assert sefa(conv_generator, k=2).directions.shape == (2, 6)


def test_sefa_recovers_planted_axes(blob_generator):
    # Weight rows are 3·a1, 2·a2, 1·a3; without normalisation the eigenvectors are a1, a2, a3.
    ds = sefa(blob_generator, k=3, normalize=False)
    axes = blob_generator.module.axes.numpy()
    np.testing.assert_allclose(np.abs(ds.directions @ axes.T), np.eye(3), atol=1e-5)
    np.testing.assert_allclose(ds.scores, [9, 4, 1], rtol=1e-5)


def test_conv_transpose_fallback():
    dcgan = nn.Sequential(nn.Unflatten(1, (5, 1, 1)), nn.ConvTranspose2d(5, 3, 4), nn.Tanh())
    g = Generator(dcgan, latent_shape=(5,), device="cpu")
    layer = find_latent_layer(g)
    assert isinstance(layer, nn.ConvTranspose2d)
    w = latent_weight(layer)
    assert w.shape == (3 * 4 * 4, 5)
    # the matrix is the linear map z -> first-layer output
    z = torch.randn(2, 5)
    out = layer(z[:, :, None, None]) - layer.bias[None, :, None, None]
    torch.testing.assert_close((z.double() @ w.T).float(), out.flatten(1), atol=1e-5, rtol=1e-5)
    ds = sefa(g)
    _, vectors = _reference(w.numpy())
    np.testing.assert_allclose(np.abs(np.sum(ds.directions * vectors, axis=1)), 1.0, atol=1e-5)


def test_no_latent_layer_is_a_clear_error():
    g = Generator(nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.Tanh()), latent_shape=(4,), device="cpu")
    with pytest.raises(ShapeError, match="latent_layer"):
        sefa(g)
    with pytest.raises(ValueError):
        sefa(Generator(nn.Sequential(nn.Linear(4, 4), nn.Unflatten(1, (1, 2, 2))), 4, device="cpu"), k=9)
