"""Seeded random generation shared by the synthetic probe tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

SPLITS = ("train", "valid", "test")

# Generated sequences per split (the step budget may pass over the training set more than once).
PROBE_SIZES = {"train_size": 20_000, "valid_size": 1_000, "test_size": 2_000}

# The probes' training budget: the setting of the measurements these tasks reproduce (adding
# problem, H=64, batch 32, Adam 2e-3, clip 1, 3,000 steps), with a validation every 250 steps.
PROBE_TRAINING = {
    "hidden_size": 64,
    "embed_size": 16,  # inputs (two channels, or a handful of symbols) are projected to this size
    "batch_size": 32,
    "lr": 2e-3,
    "max_steps": 3_000,
    "eval_every": 250,
}


def size_problems(task: str, options: Mapping[str, Any]) -> list[str]:
    """Every split needs at least one sequence."""
    return [f"{task} needs {key} >= 1, got {options[key]}" for key in PROBE_SIZES if int(options[key]) < 1]


def split_generator(seed: int, split: str) -> torch.Generator:
    """Independent, reproducible stream per (seed, split): CPU generators give the same
    numbers on every machine for a given torch version."""
    return torch.Generator().manual_seed(seed * 1000 + SPLITS.index(split))
