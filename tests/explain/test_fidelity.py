from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from latentviz.errors import ShapeError
from latentviz.explain import gaussian_blur, mse, psnr, ssim


def _ssim_reference(a: np.ndarray, b: np.ndarray, L: float = 2.0) -> float:
    r = np.arange(11) - 5
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    f = lambda im: convolve2d(im, w, mode="valid")  # noqa: E731
    mu_a, mu_b = f(a), f(b)
    va, vb, cov = f(a * a) - mu_a**2, f(b * b) - mu_b**2, f(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return float(s.mean())


def test_ssim_matches_a_numpy_reference(rng):
    a = rng.uniform(-1, 1, (2, 1, 24, 24)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1)
    got = ssim(torch.from_numpy(a), torch.from_numpy(b))
    ref = [_ssim_reference(a[i, 0], b[i, 0]) for i in range(2)]
    assert np.allclose(got.numpy(), ref, atol=1e-10)
    assert torch.allclose(ssim(torch.from_numpy(a), torch.from_numpy(a)), torch.ones(2, dtype=torch.float64))


def test_mse_psnr_by_hand():
    a = torch.zeros(1, 1, 4, 4)
    b = torch.full((1, 1, 4, 4), 0.2)
    assert torch.allclose(mse(a, b), torch.tensor([0.04]))
    assert torch.allclose(psnr(a, b), torch.tensor([20.0]))  # 10 log10(4 / 0.04)
    with pytest.raises(ShapeError):
        mse(a, torch.zeros(1, 1, 4, 5))


def test_gaussian_blur_preserves_mass_and_constants():
    x = torch.zeros(1, 1, 15, 15)
    x[..., 7, 7] = 1
    y = gaussian_blur(x, 1.5)
    assert torch.isclose(y.sum(), torch.tensor(1.0), atol=1e-6) and y[..., 7, 7] < 0.1
    c = torch.full((2, 3, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(c, 2.0), c)
