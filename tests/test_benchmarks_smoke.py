"""The benchmark suite is not part of the default run; this makes sure it still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_suite_runs_once_on_tiny_shapes():
    env = {**os.environ, "RNNBENCH_BENCH_SMOKE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-o",
            "addopts=",
            "--benchmark-disable",
            "-p",
            "no:cacheprovider",
            "tests/benchmarks/test_architectures.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "16 passed" in result.stdout


def test_every_benchmark_module_imports_and_collects():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-o",
            "addopts=",
            "--collect-only",
            "-p",
            "no:cacheprovider",
            "tests/benchmarks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for module in ("test_architectures.py", "test_probe_overhead.py", "test_prepare_imdb.py"):
        assert module in result.stdout
    subprocess.run([sys.executable, "-c", "import tests.benchmarks.compare_paths"], cwd=ROOT, check=True)
