from __future__ import annotations

import numpy as np
import pytest
import torch

from latentviz.directions.reconstructors import LeNetReconstructor
from latentviz.directions.voynov import (
    DirectionMatrix,
    _batch,
    _pair,
    resolve_precision,
    train_voynov,
    voynov,
)
from latentviz.errors import ArgumentError, ModelFileError


def test_direction_matrix_variants():
    ortho = DirectionMatrix(5, 5, "ortho")
    with torch.no_grad():
        ortho.weight.normal_()
        a = ortho.matrix()
    torch.testing.assert_close(a.T @ a, torch.eye(5), atol=1e-5, rtol=0)
    proj = DirectionMatrix(4, 9, "proj")  # K > D is allowed
    with torch.no_grad():
        proj.weight.mul_(7)
    torch.testing.assert_close(proj.matrix().norm(dim=0), torch.ones(9))
    shifts = proj(torch.tensor([2, 2]), torch.tensor([1.0, -3.0]))
    torch.testing.assert_close(shifts[1], -3 * proj.matrix()[:, 2])
    torch.testing.assert_close(DirectionMatrix(4, 3, fixed="axes").matrix(), torch.eye(4)[:, :3])
    with pytest.raises(ValueError, match="K = latent size"):
        DirectionMatrix(4, 6, "ortho")
    with pytest.raises(ValueError):
        DirectionMatrix(4, 4, "bogus")


def test_shift_sampling_respects_bounds():
    _, index, eps = _batch(0, 0, 20_000, 3, 7, scale=6.0, min_shift=0.5)
    assert eps.abs().min() >= 0.5 and eps.abs().max() <= 6.0
    assert set(index.tolist()) == set(range(7))
    assert abs(eps.mean().item()) < 0.1


def test_rca_well_above_chance_with_baselines(conv_generator):
    ds = voynov(
        conv_generator,
        k=6,
        variant="proj",
        steps=300,
        batch_size=32,
        lr=1e-3,
        progress=False,
        n_eval=384,
        baseline_steps=100,
    )
    p = ds.params
    assert p["chance"] == pytest.approx(1 / 6)
    assert p["rca"] > 0.5  # chance is 0.17
    assert 0.0 <= p["rca_random"] <= 1.0 and 0.0 <= p["rca_axes"] <= 1.0
    assert ds.directions.shape == (6, 6) and ds.scores.shape == (6,)
    assert np.mean(ds.scores) == pytest.approx(p["rca"], abs=0.1)  # per-direction recall averages to RCA
    hist_loss = ds.params["final_loss"]
    assert hist_loss is not None and np.isfinite(hist_loss)


def test_resume_continues_exactly(tmp_path, conv_generator):
    opts = dict(k=4, variant="linear", batch_size=16, lr=1e-3, progress=False, n_eval=64)
    full = train_voynov(conv_generator, steps=40, **opts)
    ckpt = tmp_path / "v.safetensors"
    part = train_voynov(conv_generator, steps=25, checkpoint=ckpt, checkpoint_every=10, **opts)
    assert ckpt.is_file() and len(part.history["loss"]) == 25
    resumed = train_voynov(conv_generator, steps=40, checkpoint=ckpt, **opts)
    assert len(resumed.history["loss"]) == 40
    np.testing.assert_allclose(resumed.history["loss"], full.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(resumed.matrix, full.matrix, atol=1e-5)
    with pytest.raises(ModelFileError, match="other settings"):
        train_voynov(conv_generator, steps=50, checkpoint=ckpt, **(opts | {"lr": 1e-2}))


def test_precision_is_resolved_and_checked():
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", "cpu")
    if resolve_precision("auto", "cpu") == "fp32":  # bf16 would be emulated: refused, not slow
        with pytest.raises(ValueError, match="not native"):
            resolve_precision("bf16", "cpu")


@pytest.mark.skipif(resolve_precision("auto", "cpu") != "bf16", reason="no native bf16 on this CPU")
def test_bf16_learns_like_fp32_and_restores_the_layout(conv_generator):
    opts = dict(k=6, steps=200, batch_size=32, lr=1e-3, progress=False, n_eval=384)
    fp32 = train_voynov(conv_generator, precision="fp32", **opts)
    bf16 = train_voynov(conv_generator, precision="bf16", **opts)
    assert fp32.rca > 0.4 and bf16.rca > 0.4  # chance is 0.17
    assert abs(fp32.rca - bf16.rca) < 0.15
    # the generator's convolutions ran channels-last and were put back
    for prm in conv_generator.module.parameters():
        assert prm.is_contiguous()


def test_lenet_reconstructor_takes_small_and_large_images():
    for size in (16, 64):
        r = LeNetReconstructor(k=5).eval()
        x = torch.zeros(3, 1, size, size)
        logits, shift = r(x, x)
        assert logits.shape == (3, 5) and shift.shape == (3,)
    n_params = sum(p.numel() for p in LeNetReconstructor(k=5).parameters())
    assert n_params < 250_000  # LeNet-5 sized (6/16/120/84 units)


def test_training_step_reads_nothing_back(conv_generator):
    # The step's losses stay on the device and are read back in blocks; the generator
    # skips its finiteness check on latents the method drew itself.
    from latentviz.models.device import HostSyncCounter

    opts = dict(k=4, variant="linear", batch_size=8, lr=1e-3, progress=False, n_eval=16)
    train_voynov(conv_generator, steps=2, **opts)  # warm-up outside the count
    with HostSyncCounter() as short:
        train_voynov(conv_generator, steps=5, **opts)
    with HostSyncCounter() as long:
        train_voynov(conv_generator, steps=45, **opts)
    assert long.count == short.count, (long.events, short.events)  # nothing per step


def test_several_shifts_share_one_base_forward(conv_generator):
    z1, _, _ = _batch(3, 0, 12, 6, 5, scale=6.0, min_shift=0.5)
    zm, im, em = _batch(3, 0, 12, 6, 5, scale=6.0, min_shift=0.5, shifts_per_base=4)
    assert z1.shape == (12, 6) and zm.shape == (3, 6) and im.shape == em.shape == (12,)
    a = DirectionMatrix(conv_generator.latent_dim, 5, "proj")
    z, index, eps = _batch(0, 1, 10, conv_generator.latent_dim, 5, 6.0, 0.5, shifts_per_base=4)
    x0, x1, _, _ = _pair(conv_generator, a, z, index, eps, grad=False)
    assert x0.shape[0] == x1.shape[0] == 10  # ceil(10 / 4) = 3 bases serve 10 pairs
    with torch.no_grad():
        base = conv_generator(z).repeat_interleave(4, 0)[:10]
        want = conv_generator(z.repeat_interleave(4, 0)[:10] + a(index, eps))
    torch.testing.assert_close(x0, base)
    torch.testing.assert_close(x1, want, rtol=1e-4, atol=1e-5)


def test_shared_bases_still_learn_and_are_recorded(tmp_path, conv_generator):
    opts = dict(k=6, variant="proj", batch_size=32, lr=1e-3, progress=False, n_eval=384)
    ds = voynov(conv_generator, steps=300, baselines=False, shifts_per_base=4, **opts)
    assert ds.params["rca"] > 0.5 and ds.params["shifts_per_base"] == 4  # chance is 0.17
    ckpt = tmp_path / "v.safetensors"
    train_voynov(conv_generator, steps=2, checkpoint=ckpt, **opts)
    with pytest.raises(ModelFileError, match="shifts_per_base"):
        train_voynov(conv_generator, steps=4, checkpoint=ckpt, shifts_per_base=2, **opts)
    with pytest.raises(ArgumentError, match="shifts_per_base"):
        train_voynov(conv_generator, steps=1, shifts_per_base=0, **opts)
