"""The results store: strict JSON records, validated on every read; a damaged or odd results
folder never crashes a reader and never miscounts silently."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import bench
from bench import RnnbenchError
from bench.cli import main
from bench.record import Record
from bench.store import Store, StoreWarning
from tests.helpers import TINY

CONFIG = {"run": {}, "arch_options": {}, "task_options": {}}
RECORD = {"id": "a", "status": "error", "arch": "gru", "task": "adding", "seed": 0, "config": CONFIG, "error": "x"}


def reject_constants(name: str):
    raise ValueError(f"{name} is not strict JSON")


def test_records_are_strict_json_and_non_finite_floats_round_trip(tmp_path):
    store = Store(tmp_path)
    record = Record(**RECORD, test={"mse": math.nan, "loss": math.inf}, history=[{"step": 0, "train_loss": -math.inf}])
    store.put(record)
    text = store.path("a").read_text()
    json.loads(text, parse_constant=reject_constants)  # what JavaScript's JSON.parse accepts
    assert '"NaN"' in text and '"Infinity"' in text and '"-Infinity"' in text
    loaded = store.get("a")
    assert math.isnan(loaded.test["mse"]) and loaded.test["loss"] == math.inf
    assert loaded.history[0]["train_loss"] == -math.inf
    assert [p.name for p in store.cells.iterdir()] == ["a.json"]  # no temporary file left


def test_records_written_with_bare_nan_still_load(tmp_path):
    store = Store(tmp_path)
    store.cells.mkdir(parents=True)
    store.path("a").write_text(json.dumps({**RECORD, "history": [{"step": 0, "train_loss": math.nan}]}))  # bare NaN
    assert math.isnan(store.get("a").history[0]["train_loss"])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A results folder with two finished cells (rnn and gru, seed 0)."""
    out = tmp_path_factory.mktemp("finished")
    args = ["run", "--arch", "rnn", "gru", "--task", "adding", "--seeds", "0", "--out", str(out), "--no-progress"]
    assert main([*args, "--set", *TINY]) == 0
    return out


@pytest.fixture
def results(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "results"))


def ids(directory: Path) -> list[str]:
    return sorted(p.stem for p in (directory / "cells").glob("*.json"))


def damage(directory: Path, how: str) -> Path:
    """Damage the rnn record (or add a copy of it) the way a user or a crash might."""
    (rnn,) = (directory / "cells").glob("adding-rnn-*.json")
    text = rnn.read_text()
    if how == "copy":
        path = rnn.with_name(f"{rnn.stem} (copy).json")
        path.write_text(text)
        return path
    rnn.write_bytes(
        {
            "list": b"[]",
            "wrong id type": b'{"id": 1}',
            "truncated": text[: len(text) // 2].encode(),
            "garbage": bytes(range(256)),
            "renamed": text.replace(rnn.stem, "adding-rnn-s0-0000000000").encode(),
        }[how]
    )
    return rnn


DAMAGE = {
    "list": "not a record (a JSON list",
    "wrong id type": "missing status, arch, task, seed",
    "truncated": "not JSON",
    "garbage": "not JSON",
    "renamed": "holds the record of cell adding-rnn-s0-0000000000",
    "copy": "a copy of adding-rnn-",
}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_record_is_skipped_named_and_never_counted(results, how, capsys):
    path = damage(results, how)
    assert main(["report", str(results)]) == 0
    captured = capsys.readouterr()
    assert f"rnnbench: warning: skipped 1 file(s) in {results / 'cells'}" in captured.err
    assert f"{path.name}: {DAMAGE[how]}" in captured.err
    assert captured.err.count("rnnbench: warning: skipped") == 1  # one warning, however many readers
    summary = captured.out
    assert "(n=2)" not in summary  # a copy never counts twice
    assert ("rnn " in summary) == (how == "copy")  # the damaged cell is gone, the copy's original stays
    assert main(["report", str(results), "--html"]) == 0
    assert (results / "report.html").stat().st_size > 0
    with pytest.warns(StoreWarning, match=DAMAGE[how].split(" (")[0]):
        frame = bench.load_results(results)
    assert sorted(frame["arch"]) == (["gru", "rnn"] if how == "copy" else ["gru"])


@pytest.mark.parametrize("how", ["list", "truncated"])
def test_resuming_recomputes_a_damaged_cell_and_keeps_the_damaged_file(results, how, capsys):
    before = {p.name: p.read_bytes() for p in (results / "cells").glob("adding-gru-*.json")}
    path = damage(results, how)
    damaged = path.read_bytes()
    args = ["run", "--arch", "rnn", "gru", "--task", "adding", "--seeds", "0", "--out", str(results), "--no-progress"]
    assert main([*args, "--set", *TINY]) == 0
    err = capsys.readouterr().err
    assert f"{path.name}: {DAMAGE[how]}" in err and "1 of 2 cells already" in err
    assert Store(results).get(path.stem).status == "ok"  # computed again
    assert path.with_name(path.name + ".damaged").read_bytes() == damaged  # and the damaged file kept
    assert {p.name: p.read_bytes() for p in (results / "cells").glob("adding-gru-*.json")} == before


def test_a_folder_of_only_damaged_records_is_an_error_not_a_blank_report(results, capsys):
    for how, path in zip(("list", "garbage"), sorted((results / "cells").glob("*.json")), strict=True):
        path.write_bytes(b"[]" if how == "list" else b"\x00\xff")
    assert main(["report", str(results)]) == 2
    err = capsys.readouterr().err
    assert "no valid records in" in err and "nothing to report" in err
    assert "not a record" in err and "not JSON" in err


@contextlib.contextmanager
def read_only_folder(path: Path):
    """A folder nobody can write to, root included: a read-only tmpfs when running as root
    (CI does), a folder without write permission otherwise."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        yield path
        path.chmod(0o700)
        return
    if (
        shutil.which("mount") is None
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", path]).returncode
    ):
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", path], check=True)


def test_an_unwritable_folder_fails_before_any_work(tmp_path, capsys):
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(RnnbenchError, match="cannot write results.*Choose another --out folder"):
            Store(folder / "out").ensure_writable()
        args = ["run", "--arch", "gru", "--task", "adding", "--seeds", "0", "--out", str(folder / "out")]
        assert main([*args, "--no-progress", "--set", *TINY]) == 2
        assert "Read-only file system" in capsys.readouterr().err or os.geteuid() != 0


def test_a_file_in_the_way_fails_before_any_work(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(RnnbenchError, match="cannot write results to .*Choose another --out folder"):
        Store(tmp_path / "out").ensure_writable()


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_fault_while_drawing_figures_leaves_no_partial_file(results, monkeypatch, capsys, fault):
    import bench.figures

    assert main(["report", str(results)]) == 0
    before = {p.name: p.read_bytes() for p in (results / "figures").iterdir()}
    real, calls = bench.figures._savefig, []

    def savefig_then_fail(figure, suffix, path):
        calls.append(path)
        if len(calls) == 3:  # a few files in: write half a figure, then fail
            path.write_bytes(b"<svg")
            raise fault
        real(figure, suffix, path)

    monkeypatch.setattr(bench.figures, "_savefig", savefig_then_fail)
    code = main(["report", str(results)])
    err = capsys.readouterr().err
    if isinstance(fault, OSError):
        assert code == 2 and "cannot write figure" in err and "No space left on device" in err
        assert "stored results in" in err and "Traceback" not in err
    else:
        assert code == 130 and "interrupted" in err
    after = {p.name: p.read_bytes() for p in (results / "figures").iterdir()}
    assert after.keys() == before.keys()  # no temporary or partial file left
    assert all(data == before[name] or len(data) > 1000 for name, data in after.items())
    assert len(ids(results)) == 2  # the records are untouched


def test_written_files_are_readable_by_everyone(results):
    assert main(["report", str(results)]) == 0
    for path in [*(results / "cells").glob("*.json"), results / "summary.csv", *(results / "figures").glob("*.png")]:
        assert path.stat().st_mode & 0o777 == 0o644, path
