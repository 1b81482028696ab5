"""`latentviz serve --store`: the Atlas tab over a results store, shared per process."""

from __future__ import annotations

import numpy as np
import pytest

from latentviz.errors import LatentvizError

N = 60


def _store(root, dim: int):
    from latentviz.batch.store import ResultStore

    rng = np.random.default_rng(0)
    labels = (np.arange(N) < N // 2).astype(np.int64)
    z = rng.normal(0, 0.3, (N, dim)).astype(np.float32)
    z[:, 0] += np.where(labels == 1, 3.0, -3.0)  # two clusters along the first latent axis
    store = ResultStore(root / "cohort", job={"command": "encode", "n": N, "batch_size": 30})
    for part in range(2):
        rows = np.arange(part * 30, part * 30 + 30)
        store.write_part(
            part,
            {"index": rows, "z": z[rows], "label": labels[rows], "probability": labels[rows] * 0.9 + 0.05},
        )
    return root / "cohort"


def test_store_adds_an_atlas_tab_whose_selections_make_a_centroid_path(resources, tmp_path):
    from latentviz.dashboard.app import DashboardSession
    from latentviz.dashboard.resources import DashboardConfig, clear_cache, load_resources

    config = DashboardConfig(store=str(_store(tmp_path, resources.generator.latent_dim)))
    res = load_resources(config)
    try:
        assert load_resources(config) is res  # the embedding is computed once per process
        assert res.generator is not None and len(res.atlas) == N
        one, two = DashboardSession(res), DashboardSession(res)
        assert [t for t in one.tabs._names] == ["Directions", "Explain", "Interpolation", "Atlas"]
        xy = res.atlas.xy
        pos, neg = xy[res.atlas.colour("label") == 1], xy[res.atlas.colour("label") == 0]
        for name, pts in (("A", neg), ("B", pos)):
            lo, hi = pts.min(0) - 1e-3, pts.max(0) + 1e-3
            one.atlas.select_box(lo[0], lo[1], hi[0], hi[1])
            one.atlas.set_group(name)
        assert {k: len(v) for k, v in one.atlas.groups.items()} == {"A": N // 2, "B": N // 2}
        one.atlas.run_path(frames_per_step=4)
        assert one.atlas.path is not None and one.atlas.path.frames is not None
        assert two.atlas.groups == {} and two.atlas.path is None  # per-session selections
        one.close()
        two.close()
    finally:
        clear_cache(config)


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    from latentviz.dashboard.resources import DashboardConfig, load_resources

    with pytest.raises(LatentvizError, match="not a latentviz results store"):
        load_resources(DashboardConfig(store=str(tmp_path)))


def test_serve_help_lists_store(capsys):
    from latentviz.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--store DIR" in capsys.readouterr().out
