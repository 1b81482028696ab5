"""The style-walk counterfactual methods (``style_cf``, ``style_lig``)."""

from __future__ import annotations

import gc

import explain_toys as toys
import pytest
import torch
from torch import nn

from latentviz.errors import OptionError, ShapeError
from latentviz.explain import registry
from latentviz.explain.methods import style_walk
from latentviz.explain.methods.style_walk import (
    StyleCounterfactualMap,
    StylePathLIG,
    _StyleWalk,
    walk_directions,
)
from latentviz.explain.style_counterfactual import walk_batch
from latentviz.models import Classifier


class _Brightness(nn.Module):
    """Two logits from the mean brightness: the probability moves smoothly with every style."""

    def __init__(self, centre: float) -> None:
        super().__init__()
        self.centre = centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = 20 * (x.mean(dim=(1, 2, 3)) - self.centre)
        return torch.stack([-v, v], 1)


@pytest.fixture(scope="module")
def models():
    g = toys.make_style_autoencoder(seed=1)
    with torch.no_grad():
        centre = float(g(g.sample_latents(64, seed=1)).mean())
    return g, Classifier(_Brightness(centre), output="logits", target=1, device="cpu")


@pytest.fixture(scope="module")
def images(models):
    g, _ = models
    with torch.no_grad():
        return g(g.sample_latents(4, seed=5)).clone()


def test_registered_and_only_for_style_autoencoders(toy_autoencoder, models, toy_classifier):
    g, _ = models
    for key in ("style_cf", "style_lig"):
        assert key in registry.keys()
        assert registry.get(key).missing(None, g) is None
        assert "style-based" in registry.get(key).missing(None, toy_autoencoder)
    assert "style_cf" not in registry.available(None, toy_autoencoder)
    with pytest.raises(ShapeError, match="style-based"):
        StyleCounterfactualMap(toy_autoencoder, toy_classifier)


def test_walk_crosses_the_threshold_where_it_says(models, images):
    g, clf = models
    ds = walk_directions(g, clf, 1, "attfind", n_attributes=3)
    s = torch.cat(g.styles(g.encode(images)), 1).detach()
    w = walk_batch(g, clf, ds, s, target=1, max_amount=30.0, n_steps=16)
    assert w.flipped.all()
    side = w.probability_start >= 0.5
    assert torch.equal(w.probability_end < 0.5, side)  # every walk ended on the other side
    # the crossing is located to a fine step: a little less strength is still on the start side
    fine = 30.0 / 15 / 15
    step = torch.as_tensor(ds.directions * ds.sigmas[:, None], dtype=torch.float32).sum(0)
    back = w.latent_end - (torch.sign(w.amount) * fine)[:, None] * step
    with torch.no_grad():
        p_back = clf.probability(g.in_space("s")(back).clamp(-1, 1), 1)
    assert torch.equal(p_back >= 0.5, side)


def test_style_cf_map_is_positive_minus_negative_end(models, images):
    g, clf = models
    a = StyleCounterfactualMap(g, clf).attribute(images, path="attfind", max_amount=30.0, refine_steps=0)
    e = a.extras
    assert a.map.shape == images.shape and e["flipped"].dtype == torch.bool
    start_pos = e["probability_start"] >= e["probability_end"]
    pos = torch.where(start_pos[:, None, None, None], e["reconstruction"], e["counterfactual"])
    neg = torch.where(start_pos[:, None, None, None], e["counterfactual"], e["reconstruction"])
    assert torch.allclose(a.map, pos - neg)
    assert {"low_fidelity", "reconstruction_psnr", "amount", "path"} <= set(e)
    assert a.options["space"] == "s" and a.options["target"] == 1


def test_a_walk_that_cannot_flip_is_flagged(models, images):
    g, clf = models
    a = StyleCounterfactualMap(g, clf).attribute(images, max_amount=1e-6, refine_steps=0)
    assert not a.extras["flipped"].any()


def test_style_lig_is_complete_and_equals_an_independent_path_sum(models, images):
    g, clf = models
    a = StylePathLIG(g, clf).attribute(images[:2], path="centroid", lig_steps=64, refine_steps=0)
    p = a.extras["path_probability"]
    gap = p[:, -1] - p[:, 0]
    assert torch.allclose(a.delta, a.map.flatten(1).sum(1) - gap, atol=1e-6)
    assert (a.delta.abs() < 0.05 * gap.abs().clamp_min(1e-3)).all()
    # the same path sum by hand, one image and one step at a time
    e = a.extras
    gs = g.in_space(a.options["space"])
    for i in range(2):
        lo, hi = e["latent_start"][i], e["latent_end"][i]
        if e["probability_start"][i] >= e["probability_end"][i]:
            lo, hi = hi, lo
        total = torch.zeros_like(images[0])
        prev_x, prev_g = None, None
        for k in range(65):
            xk = gs((lo + (k / 64) * (hi - lo))[None]).clamp(-1, 1).detach().requires_grad_(True)
            (gk,) = torch.autograd.grad(clf.probability(xk, 1).sum(), xk)
            if prev_x is not None:
                total += 0.5 * (gk[0] + prev_g) * (xk[0].detach() - prev_x)
            prev_x, prev_g = xk[0].detach(), gk[0]
        assert torch.allclose(a.map[i], total, atol=1e-5)


def test_options_are_bounded(models, images):
    g, clf = models
    with pytest.raises(OptionError, match="n_steps"):
        StyleCounterfactualMap(g, clf).attribute(images, n_steps=1)
    with pytest.raises(OptionError, match="path"):
        StyleCounterfactualMap(g, clf).attribute(images, path="nowhere")


def test_refinement_improves_the_reconstruction(models, images):
    g, clf = models
    x = images[:2] + 0.05 * torch.randn_like(images[:2])
    enc = StyleCounterfactualMap(g, clf).attribute(x, refine_steps=0, max_amount=30.0)
    ref = StyleCounterfactualMap(g, clf).attribute(x, refine_steps=100, max_amount=30.0)
    assert (ref.extras["reconstruction_psnr"] >= enc.extras["reconstruction_psnr"] - 0.1).all()
    assert ref.extras["reconstruction_psnr"].mean() > enc.extras["reconstruction_psnr"].mean()


def test_style_cf_and_style_lig_share_one_walk_of_the_same_images(models, images, monkeypatch):
    g, clf = models
    calls = []
    real = _StyleWalk._compute_walk

    def counted(self, *a, **k):
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(_StyleWalk, "_compute_walk", counted)
    x = images[:2].clone()
    out = registry.attribute_all(
        clf,
        x,
        ["style_cf", "style_lig"],
        autoencoder=g,
        options={
            "style_cf": {"refine_steps": 0, "max_amount": 30.0},
            "style_lig": {"refine_steps": 0, "max_amount": 30.0, "lig_steps": 8},
        },
    )
    assert len(calls) == 1
    cf, lig = out["style_cf"].extras, out["style_lig"].extras
    assert torch.equal(cf["latent_end"], lig["latent_end"]) and "path_probability" not in cf
    # other options, other images, or the same tensor changed in place: a new walk
    StylePathLIG(g, clf).attribute(x, refine_steps=0, max_amount=20.0, lig_steps=8)
    StylePathLIG(g, clf).attribute(x.clone(), refine_steps=0, max_amount=20.0, lig_steps=8)
    x.mul_(0.9)
    again = StyleCounterfactualMap(g, clf).attribute(x, refine_steps=0, max_amount=30.0)
    assert len(calls) == 4
    assert not torch.equal(again.extras["reconstruction"], cf["reconstruction"])
    # the memo holds a walk only while its images live
    key = id(x)
    assert key in style_walk._WALKS
    del x, out, cf, lig, again
    gc.collect()
    assert key not in style_walk._WALKS
