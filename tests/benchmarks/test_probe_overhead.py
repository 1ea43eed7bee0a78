"""The gradient probe's cost at the default settings: at most 10% of training time.

    python -m pytest tests/benchmarks/test_probe_overhead.py --benchmark-enable -o addopts=""

Runs one default-budget cell per architecture on the adding problem at T=100 (3,000 steps,
a profile at initialisation and 4 during training, each a float64 forward and backward of
64 sequences through `unrolled()`), and compares the time spent in probes with the time
spent in training steps, both measured inside the same cell.
"""

from __future__ import annotations

import pytest

import bench
from bench.planner import expand
from bench.runner import run_cell


@pytest.mark.parametrize("name", bench.list_architectures())
def test_probe_overhead_at_default_settings(benchmark, name):
    (cell,) = expand([name], ["adding"], [0], {"T": 100})
    record = benchmark.pedantic(run_cell, args=(cell,), rounds=1, iterations=1)
    overhead = record["probe_seconds"] / record["train_seconds"]
    benchmark.extra_info.update(
        probe_seconds=record["probe_seconds"],
        train_seconds=record["train_seconds"],
        overhead=overhead,
        profiles=len(record["gradients"]),
    )
    assert overhead <= 0.10, f"{name}: probes took {overhead:.1%} of training time"
