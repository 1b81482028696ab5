from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from latentviz.directions import fit_pca, ganspace
from latentviz.errors import LatentError


def _anisotropic(n=3000, f=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, f)) * np.linspace(3, 0.3, f) @ np.linalg.qr(rng.standard_normal((f, f)))[0]


@pytest.mark.parametrize(
    ("solver", "tol"), [("covariance", 1e-6), ("incremental", 2e-2), ("randomized", 2e-2)]
)
def test_fit_pca_matches_sklearn(solver, tol):
    x = _anisotropic()
    ref = PCA(n_components=5, svd_solver="full").fit(x)
    fit = fit_pca(x, 5, solver=solver, batch_size=500)
    cos = np.abs(np.sum(fit.components * ref.components_, axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=tol)
    np.testing.assert_allclose(fit.explained_variance, ref.explained_variance_, rtol=tol)
    np.testing.assert_allclose(fit.explained_variance_ratio, ref.explained_variance_ratio_, rtol=tol)
    # random axes explain about 1/F each; the top PC far more
    assert abs(fit.random_variance_ratio.mean() - 1 / 12) < 0.03
    assert fit.explained_variance_ratio[0] > 1.5 * fit.random_variance_ratio.max()


def test_latent_pca_on_given_latents(blob_generator):
    z = torch.as_tensor(_anisotropic(4000, 8, seed=1), dtype=torch.float32)
    ds = ganspace(blob_generator, k=3, latents=z, progress=False)
    ref = PCA(n_components=3).fit(z.numpy())
    np.testing.assert_allclose(np.abs(np.sum(ds.directions * ref.components_, axis=1)), 1.0, atol=1e-4)
    np.testing.assert_allclose(ds.sigmas, np.sqrt(ref.explained_variance_), rtol=1e-3)
    assert ds.params["latent_source"] == "given"


def test_activation_pca_regressed_to_latent(blob_generator):
    # The latent layer is a = W z with W = diag(3,2,1)·axes: its PCs are the axes, variance 9, 4, 1.
    ds = ganspace(blob_generator, k=3, n_samples=20_000, layer="latent_layer", n_regress=5000, progress=False)
    axes = blob_generator.module.axes.numpy()
    np.testing.assert_allclose(np.abs(ds.directions @ axes.T), np.eye(3), atol=0.02)
    np.testing.assert_allclose(ds.sigmas, 1.0, atol=0.03)  # one activation σ = one latent unit
    np.testing.assert_allclose(ds.scores, np.array([9, 4, 1]) / 14, atol=0.01)
    assert ds.params["layer"] == "latent_layer" and ds.params["latent_source"] == "prior"
    assert ds.params["random_variance_ratio_mean"] < ds.scores[0]


def test_bad_inputs(blob_generator):
    with pytest.raises(LatentError):
        fit_pca(np.full((10, 3), np.nan), 2)
    with pytest.raises(ValueError):
        fit_pca(np.ones((10, 3)), 5)
    with pytest.raises(KeyError, match="no layer"):
        ganspace(blob_generator, k=2, n_samples=100, layer="nope", progress=False)
