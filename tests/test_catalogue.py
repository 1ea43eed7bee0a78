"""A catalogue of bad inputs, as a new user meets them: each gets a clear message, a result
that is right, or both, and nothing already computed is lost (issue 18's defects, by number)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import bench
from bench import Architecture, hookimpl
from bench.cli import main
from bench.store import Store
from tests.helpers import TINY
from tests.test_architectures import NotANumber
from tests.test_end_to_end import Crashing

ROOT = Path(__file__).resolve().parents[1]
S = ["threads=1", "max_steps=3", "eval_every=3", "train_size=32", "valid_size=16", "test_size=16", "probe_points=1"]


def run(*arguments: str, out: Path, settings=S) -> int:
    return main(["run", *arguments, "--seeds", "0", "--out", str(out), "--no-progress", "--set", *settings])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A results folder with two finished cells (rnn and gru on the adding problem)."""
    out = tmp_path_factory.mktemp("finished")
    assert run("--arch", "rnn", "gru", "--task", "adding", out=out) == 0
    return out


@pytest.fixture
def results(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "results"))


def gru_record(folder: Path) -> Path:
    (path,) = (folder / "cells").glob("adding-gru-*.json")
    return path


# 1. A cell at hidden size 1 broke every later report of its folder (the trajectory's second axis).
def test_a_one_unit_model_reports(tmp_path, capsys):
    out = tmp_path / "d"
    assert run("--arch", "rnn", "--task", "adding", out=out, settings=[*S, "hidden_size=1"]) == 0
    assert main(["report", str(out)]) == 0
    (record,) = Store(out).records()
    assert all(len(point) == 2 for points in record.probe("trajectory")[-1]["points"] for point in points)
    assert (out / "figures" / "trajectory_adding.png").exists()


def set_path(record: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value


# 2. Null or ill-typed fields passed validation, then crashed the readers with no file named.
@pytest.mark.parametrize(
    "path, value, problem",
    [
        ("config", None, "'config' is null, expected an object"),
        ("test", None, "a ok record without test"),
        ("valid", [], "'valid' is a list"),
        ("throughput", "fast", "'throughput' is a str"),
        ("id", 5, "'id' is a int"),
        ("arch", None, "'arch' is null"),
        ("task", 3, "'task' is a int"),
        ("seed", "0", "'seed' is a str"),
        ("probes.gradients.0.summary", None, "'probes.gradients' .summary is null"),
        ("test.mse", "low", "'test' ['mse'] is a str"),
        ("metrics.0.name", 5, "'metrics' [0] .name is a int"),
    ],
)
def test_a_malformed_field_skips_the_file_and_names_it(results, capsys, path, value, problem):
    file = gru_record(results)
    record = json.loads(file.read_text())
    set_path(record, path, value)
    file.write_text(json.dumps(record))
    assert main(["report", str(results)]) == 0
    err = capsys.readouterr().err
    assert f"{file.name}: {problem}" in err and "Traceback" not in err
    assert main(["run", "--arch", "rnn", "gru", "--task", "adding", "--seeds", "0", "--out", str(results),
                 "--no-progress", "--set", *S]) == 0  # fmt: skip
    assert "1 of 2 cells already" in capsys.readouterr().err  # resumed: the damaged cell computed again
    assert file.with_name(file.name + ".damaged").exists()


def test_a_format_1_record_with_a_non_text_metric_is_named(results, capsys):
    file = gru_record(results)
    record = json.loads(file.read_text())
    old = {k: v for k, v in record.items() if k not in ("format", "probes", "metrics", "plugins", "probe_errors")}
    file.write_text(json.dumps({**old, **record["probes"], "metric": 5, "higher_is_better": False}))
    assert main(["report", str(results)]) == 0
    assert f"{file.name}: 'metrics' [0] .name is a int" in capsys.readouterr().err


# 3. Cells whose settings differed only by a null or NaN value were averaged together.
def test_a_null_setting_is_a_setting_of_its_own(tmp_path):
    out = tmp_path / "d"
    for extra in ([], ["forget_bias=none"]):
        assert main(["run", "--arch", "lstm", "--task", "adding", "--seeds", "0", "1", "--out", str(out),
                     "--no-progress", "--set", *S, *extra]) == 0  # fmt: skip
    frame = bench.load_results(out)
    assert sorted(frame.groupby("model").size().items()) == [("lstm forget_bias=1", 2), ("lstm forget_bias=none", 2)]


def test_a_nan_setting_is_not_averaged_with_a_number(results):
    file = gru_record(results)
    record = json.loads(file.read_text())
    record["config"]["run"]["clip"] = "NaN"  # an old record, written with clip NaN
    record["id"] = record["id"][:-10] + "0123456789"
    (results / "cells" / f"{record['id']}.json").write_text(json.dumps(record))
    models = set(bench.load_results(results)["model"])
    assert {"gru clip=1", "gru clip=none"} <= models


# 4, 20. An explicit sfashion data= that did not exist fell back silently; a missing file was not named.
def test_an_explicit_fashion_folder_is_the_only_one_looked_in(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RNNBENCH_FASHION_MNIST", str(tmp_path))  # would be found, if looked in
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (tmp_path / name).write_bytes(b"")
    assert run("--arch", "gru", "--task", "sfashion", out=tmp_path / "o", settings=[*S, "data=/no/such"]) == 2
    err = capsys.readouterr().err
    assert "/no/such (--set data): does not exist" in err and str(tmp_path) not in err.split("Looked in:")[1][:60]
    assert run("--arch", "gru", "--task", "sfashion", out=tmp_path / "o", settings=[*S, f"data={tmp_path}"]) == 2
    assert "lacks t10k-labels-idx1-ubyte" in capsys.readouterr().err


# 5. `rnnbench report` never mentioned cells whose status is error.
RAISES = types.SimpleNamespace(
    rnnbench_register_architectures=hookimpl(lambda: [Architecture("raises", "Raises.", Crashing)])
)


def test_the_report_lists_the_cells_that_failed(tmp_path, register_plugin, capsys):
    register_plugin(RAISES, "raises-plugin")
    out = tmp_path / "d"
    assert run("--arch", "raises", "--task", "adding", out=out) == 1
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Cells that did not end ok" in printed and "RuntimeError: this plugin has a bug" in printed
    assert "(1 error)" in printed  # and the summary counts it


# 6. Non-finite states crashed the trajectory probe: a diverged run was stored as an error.
def test_a_run_that_diverges_is_stored_as_diverged(tmp_path):
    out = tmp_path / "d"
    assert run("--arch", "rnn", "--task", "adding", out=out, settings=[*S, "lr=1e20", "clip=0"]) == 0
    (record,) = Store(out).records()
    assert record.status == "diverged" and record.probe_errors == {}


# 8. The exit code was 0 when stdout was a closed pipe, although a cell failed.
def test_a_closed_stdout_keeps_the_exit_code(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, types
        import bench
        from tests.test_catalogue import RAISES
        from bench.cli import main
        bench.register_plugin(RAISES, "raises-plugin")
        sys.exit(main(["run", "--arch", "raises", "--task", "adding", "--seeds", "0", "--out", {str(tmp_path)!r},
                       "--no-progress", "--set", *{S!r}]))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # `| head -0`: the reader is gone before anything is printed
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == 1, err
    assert "Traceback" not in err


# 9, 10, 11, 12, 15, 16, 17, 19, 22, 25: planning errors, each one line that names the problem.
@pytest.mark.parametrize(
    "arguments, message, absent",
    [
        (["horizon", "--arch", "gru", "--task", "adding", "--T", "10", "10"], "--T gives 10 more than once", None),
        (["run", "--arch", "gru", "--task", "mnist1d", "--set", "data_seed=-1"], "data_seed must be an integer", None),
        (
            ["run", "--arch", "gru", "--task", "mnist1d", "--set", "num_samples=50", "valid_fraction=0.999"],
            "leaves none for training",
            None,
        ),
        (["run", "--arch", "gru", "--task", "copy", "--set", "alphabet=1"], "solved by chance", None),
        (["run", "--arch", "gru", "--task", "mqar", "--set", "values=1"], "solved by chance", None),
        (["run", "--arch", "gru", "--task", "adding", "--tune", "lr=0.001,1e-3"], "a value is given twice", None),
        (
            ["run", "--arch", "gru", "--task", "addding", "--set", "train_size=5"],
            "unknown task 'addding'. Did you mean 'adding'?",
            "train_size",
        ),
        (["run", "--arch", "gru", "--task", "adding", "--set", "eval_lengths=10,10"], "10 given more than once", None),
        (["run", "--arch", "gru", "--task", "adding", "--set", "eval_lengths=1"], "eval_lengths=1: adding needs", None),
        (["run", "--arch", "gru", "--task", "adding", "--tune", "foo=1,2"], "unknown setting to tune 'foo'", None),
        (["run", "--arch", "gru", "--task", "adding", "--tune", "threads=1,2"], "threads says where a cell runs", None),
        (
            ["run", "--arch", "gru", "--task", "adding", "--executor", "ray", "--address", "notanaddress"],
            "expected HOST:PORT",
            None,
        ),
        (
            ["run", "--arch", "gru", "--task", "adding", "--executor", "ray", "--address", "localhost:99999"],
            "PORT in 1-65535",
            None,
        ),
        (["run", "--arch", "gru", "--task", "adding", "--set", "lr=1e38"], "lr must lie in (0, 3.4e+37]", None),
        (["run", "--arch", "gru", "--task", "adding", "--seeds", "-1"], "seed -1 must be", "Known settings"),
    ],
)
def test_planning_errors_name_the_problem(tmp_path, capsys, arguments, message, absent):
    assert main([*arguments, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert absent is None or absent not in err
    assert not (tmp_path / "o").exists()


# 13. `rnnbench data sfashion` said the task generates its data.
def test_data_says_what_it_can_and_cannot_download(capsys, monkeypatch):
    monkeypatch.delenv("RNNBENCH_FASHION_MNIST", raising=False)
    monkeypatch.setattr("tasks.sfashion.DEBIAN", Path("/no/such"))
    assert main(["data", "sfashion"]) == 2
    assert "rnnbench does not download Fashion-MNIST" in capsys.readouterr().err
    assert main(["data", "mnist1d"]) == 0
    assert "generates its data" in capsys.readouterr().err


# 14. `rnnbench check` on an encoder that outputs NaN blamed a structural cut.
def test_check_blames_the_nan_not_a_cut(register_plugin, capsys):
    register_plugin(
        types.SimpleNamespace(
            rnnbench_register_architectures=hookimpl(lambda: [Architecture("nan", "NaN.", NotANumber)])
        ),
        "nan-plugin",
    )
    assert main(["check", "nan"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  finite output" in out and "structural cut" not in out and "detach()" not in out


# 18. A sweep file with bad architectures hid its [set] errors.
def test_a_sweep_with_bad_architectures_still_lists_its_settings_problems(tmp_path, capsys):
    sweep = tmp_path / "bad.toml"
    sweep.write_text('architectures = 5\ntasks = ["adding"]\n[set]\nlr = -1\nhiden_size = 3\n')
    assert main(["sweep", str(sweep), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "'architectures' must be" in err and "lr must lie in" in err and "Did you mean 'hidden_size'" in err


# 21. The Python API: rerun as text, overrides as text, a missing folder.
def test_the_python_api_takes_text_and_names_a_missing_folder(tmp_path):
    overrides = " ".join(TINY)
    frame = bench.run("gru", "adding", 0, overrides=TINY, out=tmp_path)
    assert len(frame) == 1
    again = bench.run("gru", "adding", 0, overrides=TINY, out=tmp_path, rerun="all")
    assert again["id"].tolist() == frame["id"].tolist()
    assert len(bench.run("gru", "adding", 0, overrides="max_steps=2", out=tmp_path / "other")) == 1
    with pytest.raises(bench.ConfigError, match="threads='1 max_steps=4 .*': expected an integer"):
        bench.run("gru", "adding", 0, overrides=overrides, out=tmp_path)  # one string of several settings
    with pytest.raises(bench.RnnbenchError, match="holds no results"):
        bench.load_results(tmp_path / "missing")


# 23. Ctrl-C during start-up printed a KeyboardInterrupt traceback.
def test_ctrl_c_while_starting_is_one_line(monkeypatch, capsys):
    from bench import entry

    class Interrupted(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "bench.cli", Interrupted("bench.cli"))
    assert entry.main(["list"]) == entry.INTERRUPTED
    assert capsys.readouterr().err == "rnnbench: interrupted while starting; nothing was run\n"


# 24. Temporary files left by a SIGKILL were never cleaned.
def test_stale_temporary_files_are_removed(results, capsys):
    old = time.time() - 3600
    stale = [results / "cells" / ".x.json-abc.tmp", results / "figures" / ".y.png-abc.tmp"]
    fresh = results / "cells" / ".z.json-def.tmp"  # a live writer's, perhaps: kept
    for path in (*stale, fresh):
        path.write_bytes(b"half")
    for path in stale:
        os.utime(path, (old, old))
    assert main(["run", "--arch", "rnn", "gru", "--task", "adding", "--seeds", "0", "--out", str(results),
                 "--no-progress", "--set", *S]) == 0  # fmt: skip
    assert not any(path.exists() for path in stale) and fresh.exists()


# 25. report.html did not mention the damaged files it skipped.
def test_the_html_report_names_skipped_files(results):
    gru_record(results).write_text("{")
    assert main(["report", str(results), "--html"]) == 0
    assert "skipped 1 file(s)" in (results / "report.html").read_text()
    assert "skipped 1 file(s)" in (results / "report.md").read_text()


# Deliverable 1: two records of one cell under two ids are never averaged together.
def test_a_plugin_that_gained_an_option_is_not_counted_twice(tmp_path, register_plugin, capsys):
    gru = bench.get_architecture("gru")

    def plugin(defaults):
        arch = Architecture("mygru", "A plugin's GRU.", lambda i, h, **options: gru.factory(i, h), defaults)
        return types.SimpleNamespace(rnnbench_register_architectures=hookimpl(lambda: [arch]))

    out = tmp_path / "d"
    register_plugin(plugin({}), "mygru-plugin")
    assert run("--arch", "mygru", "--task", "adding", out=out) == 0
    register_plugin(plugin({"new_option": 1}), "mygru-plugin")  # version 2, without added_later
    assert run("--arch", "mygru", "--task", "adding", out=out) == 0  # a new id: computed again
    assert len(list((out / "cells").glob("*.json"))) == 2
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert "(n=1)" in captured.out and "(n=2)" not in captured.out
    newest = max(Store(out).records(), key=lambda r: r.finished)
    assert f"kept {newest.id}.json, left out" in captured.err
