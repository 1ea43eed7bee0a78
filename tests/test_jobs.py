"""`--jobs N` runs N cells at once in worker processes: the records are those of `--jobs 1`,
and a run killed mid-way resumes with nothing lost."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from bench.cli import main
from bench.store import Store
from bench.sweep import load_sweep
from tests import test_resume as resume
from tests.helpers import untimed
from tests.test_resume import SWEEP, stored

COMPARED = ("status", "test", "valid", "best_step", "steps", "params", "chance", "solved", "history", "probes")


@pytest.fixture
def sweep(tmp_path) -> Path:
    path = tmp_path / "resume.toml"
    path.write_text(SWEEP)
    return path


def test_two_jobs_store_the_records_one_job_stores(sweep, tmp_path, capsys):
    for jobs in ("1", "2"):
        assert main(["sweep", str(sweep), "--out", str(tmp_path / jobs), "--no-progress", "--jobs", jobs]) == 0
    one = {r.id: r.to_json() for r in Store(tmp_path / "1").records()}
    two = {r.id: r.to_json() for r in Store(tmp_path / "2").records()}
    assert set(one) == set(two) == {cell.id for cell in load_sweep(sweep).cells}
    for cell_id, record in one.items():
        for key in COMPARED:
            assert untimed(two[cell_id][key]) == untimed(record[key]), (cell_id, key)
        assert two[cell_id]["environment"]["threads"] == 1  # as the sweep sets it


def start(sweep: Path, out: Path, fault: str | None = None) -> subprocess.Popen:
    return resume.start(sweep, out, fault, "--jobs", "2")


@pytest.mark.parametrize("fault, lands", [("between:2", 2), ("write:3", 2)])
def test_a_killed_parallel_run_resumes_with_nothing_lost(sweep, tmp_path, fault, lands):
    out = tmp_path / "out"
    process = start(sweep, out, fault)
    assert process.wait(timeout=300) == -signal.SIGKILL, "the run was not killed there"
    before = stored(out)
    assert len(before) == lands
    process = start(sweep, out)  # resume, and let it finish
    assert process.wait(timeout=300) == 0
    records = stored(out)
    assert set(records) == {cell.id for cell in load_sweep(sweep).cells}
    assert all(records[cell_id] == record for cell_id, record in before.items())  # nothing stored changed


def test_jobs_are_checked_before_any_cell(sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert main(["sweep", str(sweep), "--out", str(out), "--jobs", "2", "--executor", "ray"]) == 2
    assert "--jobs goes with the local executor" in capsys.readouterr().err
    assert not out.exists()
