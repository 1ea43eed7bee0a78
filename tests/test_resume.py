"""Interrupted sweeps lose no finished cell: SIGKILL at random points, then resume; and two
processes writing one store at once never corrupt it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.sweep import load_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """
name = "resume"
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
[task.adding.grid]
T = [4, 5, 6]
"""


def start(sweep: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sweep", str(sweep), "--out", str(out), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stored(out: Path) -> dict[str, dict]:
    records = {}
    for path in (out / "cells").glob("*.json"):
        record = json.loads(path.read_text())  # a corrupt record would raise here
        assert path.stem == record["id"]
        records[record["id"]] = record
    return records


def test_sigkill_at_random_points_then_resume_loses_nothing(tmp_path):
    sweep = tmp_path / "resume.toml"
    sweep.write_text(SWEEP)
    expected = {cell.id for cell in load_sweep(sweep).cells}
    out = tmp_path / "out"
    rng = random.Random(7)
    kills = 0
    # Each round lets at least one more cell land, then kills at a random moment after it
    # (inside a cell, between cells, or while a record is being written): progress, not
    # wall time, paces the kills, so a fast machine cannot finish before being interrupted.
    for _ in range(4):
        before = len(stored(out)) if (out / "cells").exists() else 0
        process = start(sweep, out)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if (out / "cells").exists() and len(list((out / "cells").glob("*.json"))) > before:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if process.poll() is not None:
            break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        stored(out)  # every record stays readable after every kill
    process = start(sweep, out)  # resume, and let it finish
    assert process.wait(timeout=300) == 0
    assert kills >= 2, "the sweep finished before it could be interrupted; make it longer"
    records = stored(out)
    assert set(records) == expected  # every cell exactly once (one file per id)
    assert all(r["status"] == "ok" for r in records.values())


def test_two_processes_on_one_store_never_corrupt_it(tmp_path):
    sweep = tmp_path / "resume.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    first, second = start(sweep, out), start(sweep, out)
    deadline = time.monotonic() + 300
    assert first.wait(timeout=deadline - time.monotonic()) == 0
    assert second.wait(timeout=deadline - time.monotonic()) == 0
    assert set(stored(out)) == {cell.id for cell in load_sweep(sweep).cells}
