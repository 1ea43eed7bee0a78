"""Seeded random generation shared by the synthetic probe tasks."""

from __future__ import annotations

import torch

SPLITS = ("train", "valid", "test")


def split_generator(seed: int, split: str) -> torch.Generator:
    """Independent, reproducible stream per (seed, split): CPU generators give the same
    numbers on every machine for a given torch version."""
    return torch.Generator().manual_seed(seed * 1000 + SPLITS.index(split))
