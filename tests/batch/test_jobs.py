"""Batch jobs in this process: what each command stores, resume, refusals, cohorts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from batch_toys import SIZE, fast_options, part_mtimes
from PIL import Image

from latentviz.batch.jobs import summary_table
from latentviz.batch.runner import prepare_job, run_local
from latentviz.batch.store import ResultStore, StoreMismatchError
from latentviz.batch.worker import resolve_model
from latentviz.data.phantoms import generate
from latentviz.errors import ImageReadError, ModelFileError
from latentviz.explain import iou_at_mask_percentile


def _run(model_files, tmp_path, command="encode", data="phantom:cxr:10", model="gen", batch_size=4):
    job = prepare_job(
        data, model_files[model], model_files["clf"], tmp_path / command, fast_options(command), batch_size
    )
    return job, run_local(job, progress=False)


def test_encode_stores_latents_probability_and_fidelity(model_files, tmp_path) -> None:
    job, report = _run(model_files, tmp_path)
    assert (report.parts_total, report.parts_computed, report.images) == (3, 3, 10)
    rows = ResultStore(tmp_path / "encode").read()
    np.testing.assert_array_equal(rows["index"], np.arange(10))
    phantoms = generate("cxr", 10, size=SIZE, seed=0)
    np.testing.assert_array_equal(rows["label"], phantoms.labels)
    np.testing.assert_allclose(rows["factor_ctr"], phantoms.factors["ctr"], rtol=1e-6)
    clf = resolve_model(model_files["clf"])
    with torch.no_grad():
        p = clf.probability(torch.from_numpy(phantoms.images)).numpy()
    np.testing.assert_allclose(rows["probability"], p, atol=1e-5)
    assert rows["z"].shape == (10, 10)
    np.testing.assert_array_equal(np.concatenate([rows["z1"], rows["z2"]], 1), rows["z"])
    # PSNR of images spanning 2 units: 10 log10(4 / MSE).
    np.testing.assert_allclose(rows["psnr"], 10 * np.log10(4 / rows["mse"]), rtol=1e-4)
    assert job.store.job["model"]["split_sizes"] == [8, 2] and job.store.job["n_parts"] == 3


def test_encode_works_for_an_unconditional_vae(model_files, tmp_path) -> None:
    _run(model_files, tmp_path, model="vae", data="phantom:ct:6", batch_size=6)
    rows = ResultStore(tmp_path / "encode").read()
    assert rows["z"].shape == (6, 6) and "z1" not in rows and np.isfinite(rows["ssim"]).all()


def test_explain_stores_maps_and_localisation_where_masks_exist(model_files, tmp_path) -> None:
    _run(model_files, tmp_path, command="explain", data="phantom:cxr:8")
    rows = ResultStore(tmp_path / "explain").read()
    positive = rows["label"] == 1
    assert 0 < positive.sum() < 8
    for method in ("medxgan", "gradcam", "ig", "lig"):
        assert rows[f"map_{method}"].shape == (8, SIZE, SIZE) and rows[f"map_{method}"].dtype == np.float16
        iou = rows[f"iou_{method}"]
        assert np.isnan(iou[~positive]).all() and np.isfinite(iou[positive]).all()
        assert ((iou[positive] >= 0) & (iou[positive] <= 1)).all()
    assert "completeness_ig" in rows and "completeness_gradcam" not in rows
    assert rows["path_probability"].shape == (8, 4)
    # The stored metric is the explain layer's metric of the stored map.
    masks = generate("cxr", 8, size=SIZE, seed=0).masks
    recomputed = iou_at_mask_percentile(
        torch.from_numpy(rows["map_medxgan"][positive].astype(np.float32)), torch.from_numpy(masks[positive])
    ).numpy()
    np.testing.assert_allclose(rows["iou_medxgan"][positive], recomputed, atol=0.05)


def test_evaluate_stores_metrics_without_maps_and_summarises(model_files, tmp_path) -> None:
    job, _ = _run(model_files, tmp_path, command="evaluate", data="phantom:cxr:8", batch_size=8)
    rows = job.store.read()
    assert not any(k.startswith("map_") for k in rows)
    for method in ("medxgan", "gradcam", "ig", "lig"):
        for metric in ("deletion", "insertion"):
            v = rows[f"{metric}_{method}"]
            assert v.shape == (8,) and ((v >= 0) & (v <= 1)).all()
    table = summary_table(rows, job.store.job)
    assert table.count("\n| ") >= 4 and "| lig |" in table and "8 images" in table
    mean_iou = float(np.nanmean(rows["iou_gradcam"]))
    assert f"{mean_iou:.3f}" in table.splitlines()[3]  # medxgan, then gradcam


def test_resume_computes_only_missing_parts(model_files, tmp_path) -> None:
    job, _ = _run(model_files, tmp_path, data="phantom:cxr:6", batch_size=2)
    store = tmp_path / "encode"
    before = job.store.read()
    (store / "parts" / "part-000001.npz").unlink()
    (store / "parts" / ".tmp-killed.npz").write_bytes(b"half a write")
    kept = part_mtimes(store)
    job2, report = _run(model_files, tmp_path, data="phantom:cxr:6", batch_size=2)
    assert (report.parts_skipped, report.parts_computed, report.images) == (2, 1, 2)
    assert {k: v for k, v in part_mtimes(store).items() if k in kept} == kept
    assert not list((store / "parts").glob(".tmp-*"))
    after = job2.store.read()
    assert sorted(after) == sorted(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_a_store_of_another_job_is_refused(model_files, tmp_path) -> None:
    _run(model_files, tmp_path, data="phantom:cxr:4")
    with pytest.raises(StoreMismatchError, match="data"):
        _run(model_files, tmp_path, data="phantom:cxr:5")
    with pytest.raises(StoreMismatchError, match="batch_size"):
        _run(model_files, tmp_path, data="phantom:cxr:4", batch_size=2)


def test_bad_inputs_get_typed_errors(model_files, tmp_path) -> None:
    with pytest.raises(ModelFileError, match="conditional"):
        _run(model_files, tmp_path, command="explain", model="vae")
    with pytest.raises(ImageReadError, match="phantom:KIND"):
        _run(model_files, tmp_path, data="phantom:lung")
    with pytest.raises(ImageReadError, match="no such file"):
        _run(model_files, tmp_path, data=str(tmp_path / "missing"))
    with pytest.raises(ModelFileError, match="zoo"):
        prepare_job("phantom:cxr:4", "no-such-model", model_files["clf"], tmp_path / "x", fast_options())


def test_npz_and_folder_cohorts(model_files, tmp_path) -> None:
    b = generate("ct", 6, size=SIZE, seed=3)
    np.savez(
        tmp_path / "c.npz",
        images=b.images[:, 0],
        labels=b.labels,
        masks=b.masks,
        factor_lesion_size=b.factors["lesion_size"],
    )
    job, _ = _run(model_files, tmp_path, command="explain", data=str(tmp_path / "c.npz"))
    rows = job.store.read()
    assert job.store.job["data"]["kind"] == "npz" and job.store.job["has_masks"]
    np.testing.assert_allclose(rows["factor_lesion_size"], b.factors["lesion_size"])
    assert np.isfinite(rows["iou_lig"][b.labels == 1]).all()

    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(((b.images[i, 0] + 1) * 127.5).astype(np.uint8)).save(folder / f"img{i}.png")
    job, report = _run(model_files, tmp_path, data=str(folder))
    rows = job.store.read()
    assert report.images == 5 and rows["z"].shape == (5, 10)
    assert "pngs" not in str(job.store.job) and "img0" not in str(job.store.job)  # no paths kept
    assert (rows["label"] == -1).all() and not math.isnan(float(rows["probability"].mean()))
