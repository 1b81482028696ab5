"""The inversion rows' bookkeeping (the rows themselves take minutes: ``latentviz bench explain``)."""

from __future__ import annotations

import torch

from latentviz.bench.explain import time_to_goal


def test_time_to_goal_reads_each_images_first_hit():
    trace = {
        "seconds": torch.tensor([0.5, 1.0, 1.5, 2.0]),
        "mse": torch.tensor([[0.9, 0.5], [0.4, 0.5], [0.3, 0.45], [0.3, 0.41]]),
    }
    goal = torch.tensor([0.4, 0.4])
    assert time_to_goal(trace, goal) == [1.0, None]  # image 1 never reached 0.4
    assert time_to_goal(trace, torch.tensor([1.0, 0.45])) == [0.5, 1.5]
