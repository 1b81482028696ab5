from __future__ import annotations

import torch

from latentviz.models.device import HostSyncCounter, to_device_async


def test_counter_sees_every_kind_of_host_read():
    x = torch.randn(6)
    mask = x > 0
    with HostSyncCounter() as syncs:
        _ = x.sum().item()
        _ = float(x.max())
        _ = bool(mask.any())
        _ = x.nonzero()
        _ = x[mask]  # boolean-mask indexing sizes its result on the host
        x[mask] = 0.0
        _ = x.tolist()
    assert syncs.events == [
        "item",
        "__float__",
        "__bool__",
        "nonzero",
        "__getitem__[bool mask]",
        "__setitem__[bool mask]",
        "tolist",
    ]


def test_device_side_work_is_not_counted():
    x = torch.randn(4, 3)
    idx = torch.tensor([0, 2])
    with HostSyncCounter() as syncs:
        y = torch.where(x > 0, x, -x)
        y[idx] = y[idx] * 2  # integer indexing stays on the device
        _ = y.sum(1).argmax()
        _ = to_device_async(torch.ones(3), torch.device("cpu"))
    assert syncs.count == 0


def test_reads_inside_torch_are_left_out_but_not_our_modules():
    class Reads(torch.nn.Module):
        def forward(self, x):  # called by torch's Module.__call__, written here
            return x * float(x.sum())

    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([w], lr=0.1)
    with HostSyncCounter() as syncs:
        Reads()(torch.ones(2))
        w.sum().backward()
        opt.step()  # Adam reads its host-side step counter: torch's own, not counted
    assert syncs.events == ["__float__"]
    with HostSyncCounter(include_torch=True) as everything:
        opt.step()
    assert everything.count >= 1
