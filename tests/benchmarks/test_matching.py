"""The cost of --match: under a second per architecture (the target of issue 12).

    python -m pytest tests/benchmarks/test_matching.py --benchmark-enable -o addopts=""

Times the bisection that picks the hidden size for an IMDB-sized budget (embedding 128,
about 300,000 encoder parameters) for every registered architecture.
"""

from __future__ import annotations

import pytest

import bench
from bench.budget import Match, matched_hidden_size


@pytest.mark.parametrize("kind", ["params", "state"])
@pytest.mark.parametrize("name", bench.list_architectures())
def test_matching_takes_under_a_second(benchmark, name, kind):
    arch = bench.get_architecture(name)
    match = Match(kind, 300_000 if kind == "params" else 512)
    try:
        hidden = benchmark(matched_hidden_size, arch, 128, arch.defaults, match)
    except bench.PluginError:
        pytest.skip(f"{name} declares no state size")
    benchmark.extra_info["hidden_size"] = hidden
    assert benchmark.stats.stats.median < 1.0, f"{name}: matching took {benchmark.stats.stats.median:.2f} s"
