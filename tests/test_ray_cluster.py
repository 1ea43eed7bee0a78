"""`--executor ray --address`: a sweep on an existing Ray cluster, for real. The test starts a
head node bound to loopback (with token authentication, as Ray >= 2.59 does by default),
runs a small sweep through the CLI in a fresh process, checks the records, and stops the
head. Every connection stays on loopback. Skipped when Ray is not installed."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.sweep import load_sweep

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray head node per test: `make test-slow`
ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
SWEEP = """
name = "cluster"
architectures = ["rnn", "gru"]
tasks = ["adding"]
seeds = 2
[set]
threads = 1
max_steps = 3
eval_every = 3
probe_points = 1
train_size = 32
valid_size = 16
test_size = 16
hidden_size = 4
T = 5
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def head():
    """(address, environment) of a Ray head on loopback; stopped after the module."""
    if not RAY.exists():
        pytest.skip("the ray command is not installed beside this Python")
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit in 107 bytes
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        # a single-machine cluster: Ray keeps 127.0.0.1 instead of advertising the network address
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "PYTHONPATH": str(ROOT),
    }
    start = [str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2"]
    start += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    started = subprocess.run(start, env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def rnnbench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_sweep_runs_on_an_existing_cluster_through_its_address(head, tmp_path):
    address, env = head
    sweep = tmp_path / "cluster.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    run = rnnbench(env, "sweep", str(sweep), "--out", str(out), "--executor", "ray", "--address", address)
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json")]
    assert {r["id"] for r in records} == {cell.id for cell in load_sweep(sweep).cells}
    assert all(r["status"] == "ok" and r["environment"]["threads"] == 1 for r in records)


def test_a_wrong_token_is_one_clear_line(head, tmp_path):
    address, env = head
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "adding", "--seeds", "0", "--out", str(out), "--executor", "ray"]
    run = rnnbench({**env, "RAY_AUTH_TOKEN": "0" * 64}, *args, "--address", address, "--set", "max_steps=2", "T=5")
    assert run.returncode == 2
    assert f"cannot join the Ray cluster at {address}" in run.stderr and "RAY_AUTH_TOKEN" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_head_at_the_address_is_one_clear_line(tmp_path):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "adding", "--seeds", "0", "--out", str(out), "--executor", "ray"]
    run = rnnbench({**os.environ, "PYTHONPATH": str(ROOT)}, *args, "--address", address, "--set", "max_steps=2")
    assert run.returncode == 2
    assert f"cannot reach the Ray cluster at {address}: Connection refused" in run.stderr
    assert "Traceback" not in run.stderr
