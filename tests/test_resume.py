"""Interrupted sweeps lose no finished cell: SIGKILL at named points (RNNBENCH_FAULT, see
bench/faults.py), then resume; and two processes writing one store at once never corrupt
it. No test here depends on the machine's speed."""

from __future__ import annotations

import json
import os
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


def start(sweep: Path, out: Path, fault: str | None = None, *options: str) -> subprocess.Popen:
    """`rnnbench sweep` in a process of its own, killed at ``fault`` (RNNBENCH_FAULT) if given."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RNNBENCH_FAULT", None)
    if fault:
        env["RNNBENCH_FAULT"] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sweep", str(sweep), "--out", str(out), "--no-progress", *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stored(out: Path) -> dict[str, bytes]:
    """Every record file by cell id; each must be a whole, valid record."""
    records = {}
    for path in (out / "cells").glob("*.json"):
        record = json.loads(path.read_text())  # a half-written record would raise here
        assert path.stem == record["id"] and record["status"] == "ok"
        records[record["id"]] = path.read_bytes()
    return records


# (fault, cells this run stores before the kill), with 3 training steps per cell: inside a
# cell, between two cells, and half-way through writing a record. Each run resumes where the
# last one was killed.
KILLS = [("step:2", 0), ("between:1", 1), ("write:1", 0), ("step:8", 2), ("between:3", 3), ("write:2", 1)]


def test_sigkill_at_named_points_then_resume_loses_nothing(tmp_path):
    sweep = tmp_path / "resume.toml"
    sweep.write_text(SWEEP)
    expected = {cell.id for cell in load_sweep(sweep).cells}
    out = tmp_path / "out"
    before: dict[str, bytes] = {}
    for fault, lands in KILLS:
        process = start(sweep, out, fault)
        assert process.wait(timeout=300) == -signal.SIGKILL, f"{fault}: the process was not killed there"
        after = stored(out) if (out / "cells").exists() else {}
        assert len(after) == len(before) + lands, fault
        assert all(after[cell_id] == record for cell_id, record in before.items())  # nothing stored changed
        assert not list((out / "cells").glob("*.json.damaged"))
        before = after
    process = start(sweep, out)  # resume, and let it finish
    assert process.wait(timeout=300) == 0
    records = stored(out)
    assert set(records) == expected  # every cell exactly once (one file per id)
    assert all(records[cell_id] == record for cell_id, record in before.items())
    # a killed writer leaves its temporary file, which no reader mistakes for a record
    assert all(p.suffix == ".tmp" for p in (out / "cells").iterdir() if p.suffix != ".json")


def test_two_processes_on_one_store_never_corrupt_it(tmp_path):
    sweep = tmp_path / "resume.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    first, second = start(sweep, out), start(sweep, out)
    deadline = time.monotonic() + 300
    assert first.wait(timeout=deadline - time.monotonic()) == 0
    assert second.wait(timeout=deadline - time.monotonic()) == 0
    assert set(stored(out)) == {cell.id for cell in load_sweep(sweep).cells}
