from __future__ import annotations

import explain_toys as toys
import torch

from latentviz.explain import MedXGANDifference, difference_map, registry


def test_medxgan_entry_is_the_difference_map(toy_generator, toy_classifier):
    z = toys.positive_latents(2, seed=38)
    a = MedXGANDifference(toy_generator, toy_classifier).attribute(z)
    assert torch.equal(a.map, difference_map(toy_generator, z).cpu())
    assert registry.get("medxgan").needs == frozenset({"generator"})
