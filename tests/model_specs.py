"""Helpers the model tests share (not a test file): specs written inline, and a seeded torch."""

import pytest
import torch


def spec_of(*layers: dict, **top) -> dict:
    return {"name": "t", "layers": list(layers), **top}


GMP = {"globalmaxpool1d": {}}


@pytest.fixture(autouse=True)
def seed() -> None:
    """Every test of a module that imports this fixture starts from torch seed 0."""
    torch.manual_seed(0)
