from __future__ import annotations

import explain_toys as toys
import pytest
import torch

from latentviz.errors import ShapeError
from latentviz.explain import FIDELITY_THRESHOLDS, invert, invert_paper


def test_recovers_a_known_latent(toy_generator, toy_classifier):
    z = toys.positive_latents(3, seed=11)
    x = toy_generator.generate(z)
    r = invert(toy_generator, toy_classifier, x, restarts=2, steps=800, patience=80, tol=1e-4, progress=False)
    assert (r.z - z).abs().max() < 0.1
    assert r.mse.max() < 1e-4
    assert (r.psnr > 40).all() and (r.ssim > 0.99).all()
    assert r.agrees.all() and not r.low_fidelity.any()
    assert r.reconstruction.shape == x.shape
    assert r.history[-1] <= r.history[0]


def test_target_mse_stops_early_and_is_reached(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(2, seed=12))
    r = invert(toy_generator, toy_classifier, x, restarts=3, steps=500, target_mse=1e-3, progress=False)
    assert (r.mse <= 1e-3 + 1e-6).all()
    assert r.steps.max() < 500


def test_restarts_are_one_batch_and_best_is_kept(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(2, seed=13))
    one = invert(toy_generator, toy_classifier, x, restarts=1, steps=30, init="random", progress=False)
    many = invert(
        toy_generator,
        toy_classifier,
        x,
        restarts=6,
        steps=30,
        init="random",
        progress=False,
        prune_after=None,
    )
    assert (many.loss <= one.loss + 1e-6).all()  # restart 0 is the same start in both
    assert ((0 <= many.restart) & (many.restart < 6)).all()


def test_encoder_init_is_exact_for_an_autoencoder(toy_autoencoder, toy_classifier):
    z = toys.positive_latents(2, seed=14)
    x = toy_autoencoder.generate(z)
    r = invert(toy_autoencoder, toy_classifier, x, restarts=2, steps=0, init="encoder", progress=False)
    assert (r.z - z).abs().max() < 1e-2
    assert r.restart.eq(0).all()


def test_low_fidelity_is_flagged(toy_generator, toy_classifier):
    # An image the generator cannot make (a checkerboard) must be flagged.
    x = torch.ones(1, 1, 16, 16)
    x[..., ::2, ::2] = -1
    x[..., 1::2, 1::2] = -1
    r = invert(toy_generator, toy_classifier, x, restarts=2, steps=40, progress=False)
    assert r.low_fidelity.all()
    assert (r.psnr < FIDELITY_THRESHOLDS["min_psnr"]).all()
    assert r.fidelity()["low_fidelity"] == [True]


def test_paper_reference_runs_one_start_without_early_stop(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(1, seed=15))
    r = invert_paper(toy_generator, toy_classifier, x, steps=25, progress=False)
    assert r.steps.item() == 25 and len(r.history) == 25
    assert r.options["lr"] == 0.01 and r.options["init"] == "paper"


def test_bad_inputs(toy_generator, toy_autoencoder, toy_classifier):
    with pytest.raises(ShapeError, match="cannot be inverted"):
        invert(toy_generator, toy_classifier, torch.zeros(1, 1, 8, 8), progress=False)
    with pytest.raises(ShapeError, match="2D image batch"):
        invert(toy_generator, toy_classifier, torch.zeros(1, 1, 4, 16, 16), progress=False)
    with pytest.raises(ShapeError, match="no encoder"):
        invert(toy_generator, toy_classifier, torch.zeros(1, 1, 16, 16), init="encoder", progress=False)
    with pytest.raises(ShapeError, match="conditional"):
        invert(toy_autoencoder, toy_classifier, torch.zeros(1, 1, 16, 16), init="paper", progress=False)
    with pytest.raises(ShapeError, match="NaN"):
        invert(toy_generator, toy_classifier, torch.full((1, 1, 16, 16), float("nan")), progress=False)


def test_callback_reports_every_step_and_can_cancel(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(1, seed=16))
    seen = []
    invert(
        toy_generator,
        toy_classifier,
        x,
        steps=12,
        patience=None,
        refine=None,
        progress=False,
        callback=lambda s, i: seen.append((s, i)),
    )
    assert [s for s, _ in seen] == list(range(1, 13))
    assert seen[-1][1]["mse"] <= seen[0][1]["mse"]

    class Cancelled(Exception):
        pass

    def cancel(step, info):
        if step == 3:
            raise Cancelled

    with pytest.raises(Cancelled):
        invert(toy_generator, toy_classifier, x, steps=50, progress=False, callback=cancel)


def test_lbfgs_refinement_beats_adam_alone_at_equal_adam_steps(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(2, seed=17))
    adam = invert(toy_generator, toy_classifier, x, steps=40, refine=None, progress=False)
    both = invert(toy_generator, toy_classifier, x, steps=40, refine="lbfgs", refine_evals=60, progress=False)
    assert (both.mse < 0.1 * adam.mse).all()
    assert (both.loss <= adam.loss).all()
    assert both.steps.min() > adam.steps.max()  # L-BFGS evaluations are counted as steps


def test_callback_reports_and_cancels_in_the_lbfgs_phase(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(2, seed=17))
    seen: list[tuple[int, str, int]] = []

    def record(step, info):
        seen.append((step, info["phase"], info["steps"]))

    res = invert(
        toy_generator,
        toy_classifier,
        x,
        steps=10,
        patience=None,
        refine="lbfgs",
        refine_evals=30,
        progress=False,
        callback=record,
    )
    phases = [p for _, p, _ in seen]
    assert phases[:10] == ["adam"] * 10 and "lbfgs" in phases
    lbfgs_steps = [s for s, p, _ in seen if p == "lbfgs"]
    assert lbfgs_steps[0] == 11 and lbfgs_steps == sorted(lbfgs_steps)
    assert all(total == 40 for _, p, total in seen if p == "lbfgs")
    assert res.steps.max() == 10 + len(lbfgs_steps)

    class Cancelled(Exception):
        pass

    def cancel_in_lbfgs(step, info):
        if info["phase"] == "lbfgs":
            raise Cancelled

    with pytest.raises(Cancelled):
        invert(
            toy_generator,
            toy_classifier,
            x,
            steps=5,
            patience=None,
            refine="lbfgs",
            refine_evals=30,
            progress=False,
            callback=cancel_in_lbfgs,
        )


def test_adam_loop_reads_the_host_only_at_sync_points(toy_generator, toy_classifier, monkeypatch):
    # The loop an accelerator runs (sync every SYNC_EVERY steps) is proved on the CPU by
    # counting device->host reads, and it finds the same latents as the CPU cadence.
    from latentviz.explain import inversion
    from latentviz.models.device import HostSyncCounter

    x = toy_generator.generate(toys.positive_latents(2, seed=21))
    opts = dict(restarts=3, steps=64, patience=None, prune_after=None, refine=None, progress=False)
    cpu = invert(toy_generator, toy_classifier, x, **opts)
    monkeypatch.setattr(inversion, "sync_interval", lambda device: inversion.SYNC_EVERY)
    with HostSyncCounter() as syncs:
        accel = invert(toy_generator, toy_classifier, x, **opts)
    # Outside the Adam loop: the input checks, the classifier's check of the originals,
    # the fidelity report and the result's copies; inside: one nonzero per sync point.
    loop_reads = syncs.events.count("nonzero")
    assert loop_reads == 64 // inversion.SYNC_EVERY
    assert syncs.count < 40, syncs.events
    assert "__setitem__[bool mask]" not in syncs.events and "item" not in syncs.events
    torch.testing.assert_close(accel.z, cpu.z)
    torch.testing.assert_close(accel.history, cpu.history)
    assert torch.equal(accel.steps, cpu.steps)


def test_masked_restarts_match_the_compacted_loop(toy_generator, toy_classifier, monkeypatch):
    # With patience and pruning, restarts stop between sync points; masking them must give
    # the same result as dropping them at once.
    from latentviz.explain import inversion

    x = toy_generator.generate(toys.positive_latents(2, seed=22))
    opts = dict(restarts=4, steps=90, patience=5, tol=0.05, prune_after=20, refine=None, progress=False)
    cpu = invert(toy_generator, toy_classifier, x, **opts)
    monkeypatch.setattr(inversion, "sync_interval", lambda device: 7)
    accel = invert(toy_generator, toy_classifier, x, **opts)
    assert cpu.steps.max() < 90  # some restarts did stop early
    torch.testing.assert_close(accel.z, cpu.z)
    torch.testing.assert_close(accel.loss, cpu.loss)
    assert torch.equal(accel.steps, cpu.steps)


def test_per_image_goals_and_trace(toy_generator, toy_classifier):
    x = toy_generator.generate(toys.positive_latents(2, seed=23))
    goal = torch.tensor([1e-2, 1e-3])
    r = invert(
        toy_generator, toy_classifier, x, restarts=2, steps=400, target_mse=goal, trace=True, progress=False
    )
    assert (r.mse <= goal + 1e-6).all()
    tr = r.trace
    assert tr["mse"].shape == (len(tr["seconds"]), 2) and len(tr["phase"]) == len(tr["seconds"])
    assert (tr["seconds"].diff() >= 0).all()
    assert (tr["mse"].diff(dim=0) <= 1e-7).all()  # best-so-far never rises
    torch.testing.assert_close(tr["psnr"], 10 * torch.log10(4 / tr["mse"]))
    # The looser goal is met no later than the tighter one.
    first = [int((tr["mse"][:, i] <= goal[i]).nonzero()[0, 0]) for i in range(2)]
    assert first[0] <= first[1]
    with pytest.raises(ValueError, match="one per image"):
        invert(toy_generator, toy_classifier, x, steps=5, target_mse=[1e-3, 1e-3, 1e-3], progress=False)


def test_fidelity_plateau_stops_before_the_budget(toy_generator, toy_classifier):
    from latentviz.errors import OptionError

    x = toy_generator.generate(toys.positive_latents(2, seed=24))
    opts = dict(restarts=1, steps=3000, patience=None, prune_after=None, progress=False)
    opts |= dict(plateau_db=0.5, plateau_window=20, refine=None)
    r = invert(toy_generator, toy_classifier, x, **opts)
    assert 20 < int(r.steps.max()) < 3000
    tr = invert(toy_generator, toy_classifier, x, trace=True, **opts).trace
    # Where it stopped, the last window gained less than the threshold.
    last = tr["psnr"][-1] - tr["psnr"][-21]
    assert (last < 0.5).all()
    with pytest.raises(OptionError):
        invert(toy_generator, toy_classifier, x, **(opts | {"plateau_db": -1.0}))
