"""The benchmark suite is not part of the default run; this makes sure it still runs."""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import bench

ROOT = Path(__file__).resolve().parents[1]
PYTEST = ["pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider"]


def run_module(*args: str) -> str:
    """``python -m ARGS`` from the repository root, on tiny shapes; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, "RNNBENCH_BENCH_SMOKE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


# over every registered architecture: `make test-with-plugin` runs it again with a third-party
# plugin installed (the other scripts here time torch's own LSTM paths, whatever is installed)
@pytest.mark.registry
def test_benchmark_suite_runs_once_on_tiny_shapes():
    output = run_module(*PYTEST, "--benchmark-disable", "tests/benchmarks/test_architectures.py")
    # every registered architecture (installed plugins too) x 2 shapes x 2 precisions x (forward, step)
    assert f"{len(bench.list_architectures()) * 8} passed" in output


def test_every_benchmark_module_imports_and_collects():
    output = run_module(*PYTEST, "--collect-only", "tests/benchmarks")
    for module in ("test_architectures.py", "test_probe_overhead.py", "test_prepare_imdb.py"):
        assert module in output


def test_comparison_script_runs_once_on_tiny_shapes(tmp_path):
    # inductor (torch.compile on CPU) needs a C++ compiler; without one the script runs the rest
    compile_too = ["--compile"] if shutil.which("c++") or shutil.which("g++") else []
    out = tmp_path / "compare.csv"
    run_module("tests.benchmarks.compare_paths", "--reps", "1", "--out", str(out), *compile_too)
    rows = list(csv.DictReader(out.open()))
    comparisons = " | ".join(row["comparison"] for row in rows)
    for expected in ("hand-written", "pack_padded_sequence", "unmasked", "matmul peak", "precision=bf16", "denormals"):
        assert expected in comparisons
    assert ("torch.compile" in comparisons) == bool(compile_too)
    # finite, not positive: at these tiny shapes a part computed as the difference of two
    # timings (backward, the rest of the step) can come out negative on a busy machine
    assert all(math.isfinite(float(row["ratio"])) for row in rows)


def test_kernel_profile_runs_once_on_tiny_shapes():
    output = run_module("tests.benchmarks.lstm_kernels", "--reps", "1")
    for mode in ("fp32 inference", "fp32 training", "bf16 training", "oneDNN off"):
        assert mode in output
    if torch.backends.mkldnn.is_available():  # torch's x86 CPU builds: oneDNN names its kernels
        assert "forward_training" in output and "backward" in output
