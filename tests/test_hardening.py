"""A catalogue of bad inputs and faults: each gets a clear error, and nothing computed is lost."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import bench
from bench import Architecture, ConfigError, hookimpl
from bench.cli import main
from bench.config import coerce, parse_assignments
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


class Float64Encoder(torch.nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = torch.nn.Linear(input_size, hidden_size)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.linear(x).sum(1).double()


class Interrupting(Float64Encoder):
    def forward(self, x, lengths):
        if self.training:
            raise KeyboardInterrupt
        return self.linear(x).sum(1)


def architectures_plugin(*archs):
    return types.SimpleNamespace(rnnbench_register_architectures=hookimpl(lambda: list(archs)))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["hidden_size=-4"], "hidden_size must be >= 1"),
        (["T=0"], "adding needs T >= 2"),
        (["batch_size=many"], "batch_size='many': expected an integer"),
        (["lr=0"], "lr must lie in"),
        (["device=tpu"], "device must be auto, cpu, cuda"),
        (["max_stepz=3"], "Did you mean 'max_steps'"),
        (["forget_bias"], "expected key=value"),
        (["num_layers=0"], "lstm: num_layers must be an integer >= 1, got 0"),
        (["dropout=1.5", "num_layers=2"], "lstm: dropout must lie in [0, 1), got 1.5"),
        (["lr=inf"], "lr must be a finite number, got inf"),
        (["clip=nan"], "clip must be a finite number, got nan"),
        (["lr=1e-3", "lr=2e-3"], "--set gives lr twice (lr=1e-3 and lr=2e-3); keep one"),
        (["threads=1000"], "threads=1000 asks for more CPU threads than the"),
        (["forget_bias=inf"], "forget_bias must be a finite number or none"),
    ],
)
def test_bad_command_line_values_are_explained(tmp_path, capsys, settings, message):
    assert (
        main(
            [
                "run",
                "--arch",
                "lstm",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
                "--set",
                *settings,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list((tmp_path / "o").glob("cells/*.json"))  # nothing trained


@pytest.mark.parametrize(
    ("seeds", "message"),
    [(["0", "0"], "seed(s) 0 given more than once"), ([str(2**64)], "must be an integer in [0, 4294967296)")],
)
def test_bad_seeds_are_explained_before_training(tmp_path, capsys, seeds, message):
    args = ["run", "--arch", "gru", "--task", "adding", "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*args, "--seeds", *seeds, "--set", *TINY]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_architectures_defaults_are_checked_against_its_factory():
    def factory(input_size, hidden_size, depth, width=3):
        raise AssertionError("never built")

    with pytest.raises(bench.PluginError) as error:
        Architecture("odd", "Mismatched.", factory, {"width": 3, "colour": "red"})
    assert "defaults name colour, which the factory does not accept" in str(error.value)
    assert "the factory's depth has no default: add it to defaults" in str(error.value)
    with pytest.raises(bench.PluginError, match=r"factory must accept \(input_size, hidden_size"):
        Architecture("odd", "Too few parameters.", lambda size: None)


def test_cuda_asked_for_without_cuda_is_explained(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert (
        main(
            [
                "run",
                "--arch",
                "gru",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
                "--set",
                "device=cuda",
                *TINY,
            ]
        )
        == 2
    )
    assert "torch sees no CUDA device" in capsys.readouterr().err


def test_wrong_dtype_from_an_encoder_is_explained(tmp_path, register_plugin):
    register_plugin(architectures_plugin(Architecture("f64", "Returns float64.", Float64Encoder)), "f64-plugin")
    frame = bench.run("f64", "adding", seeds=[0], overrides=dict(s.split("=") for s in TINY), out=tmp_path)
    assert frame.loc[0, "status"] == "error"
    assert "returned (32, 8) torch.float64" in frame.loc[0, "error"] and "rnnbench check" in frame.loc[0, "error"]


def test_keyboard_interrupt_keeps_finished_cells(tmp_path, register_plugin, capsys):
    register_plugin(architectures_plugin(Architecture("stopper", "Ctrl-C in training.", Interrupting)), "stop")
    out = tmp_path / "o"
    code = main(
        [
            "run",
            "--arch",
            "gru",
            "stopper",
            "--task",
            "adding",
            "--seeds",
            "0",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            *TINY,
        ]
    )
    assert code == 130
    assert "finished cells are stored" in capsys.readouterr().err
    stored = bench.load_results(out)
    assert list(stored["arch"]) == ["gru"]  # the finished cell, and no half-written one
    assert not list((out / "cells").glob(".*tmp"))


def test_unwritable_output_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert (
        main(
            [
                "run",
                "--arch",
                "gru",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(blocker / "sub"),
                "--no-progress",
                "--set",
                *TINY,
            ]
        )
        == 2
    )
    assert "cannot write results" in capsys.readouterr().err


def test_missing_imdb_data_is_explained_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RNNBENCH_DATA", raising=False)
    monkeypatch.setenv("RNNBENCH_CACHE", str(tmp_path / "cache"))
    assert main(["run", "--arch", "gru", "--task", "imdb", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "IMDB data not found" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["keep=middle", "max_len=0", "min_freq=0", "max_tokens=2"])
def test_bad_imdb_pipeline_settings_are_explained(tmp_path, capsys, setting):
    assert (
        main(
            [
                "run",
                "--arch",
                "gru",
                "--task",
                "imdb",
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
                "--set",
                f"data={tmp_path}",
                setting,
            ]
        )
        == 2
    )
    assert "imdb: " in capsys.readouterr().err


@given(st.integers(-(10**12), 10**12))
def test_integers_round_trip_through_the_command_line(value):
    assert coerce("n", str(value), 1) == value


@given(st.floats(allow_nan=False, allow_subnormal=False))  # `import bench` flushes subnormals to zero
def test_floats_round_trip_through_the_command_line(value):
    assert coerce("x", repr(value), 0.5) == value


@given(st.text())
def test_any_text_is_a_value_or_a_clear_error(text):
    for default in (1, 0.5, True, "s", None):
        try:
            coerce("key", text, default)
        except ConfigError as exc:
            assert "key=" in str(exc)


KEYS = st.text(min_size=1).filter(lambda k: "=" not in k and k.strip())


@given(KEYS, st.text())
def test_an_assignment_round_trips(key, value):
    assert parse_assignments([f"{key}={value}"]) == {key.strip(): value}


@given(st.text().filter(lambda item: "=" not in item))
def test_an_item_without_equals_is_a_clear_error(item):
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_assignments([item])


@given(KEYS, st.text(), st.text())
def test_a_key_given_twice_is_an_error_whatever_the_values(key, first, second):
    with pytest.raises(ConfigError, match="twice"):
        parse_assignments([f"{key}={first}", f" {key} ={second}"])


def test_no_pickle_on_any_load_path():
    """Results and caches are data (JSON, npz without pickle), never executable code."""
    for path in [*ROOT.glob("bench/*.py"), *ROOT.glob("tasks/*.py"), *ROOT.glob("architectures/*.py")]:
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not ({"pickle", "dill", "joblib"} & (imports | modules | names)), path
        assert "torch.load" not in path.read_text(), path
        assert "allow_pickle=True" not in path.read_text(), path


def test_executor_choices_are_checked(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--arch",
                "gru",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(tmp_path / "o"),
                "--address",
                "ray://x:10001",
                "--no-progress",
                "--set",
                *TINY,
            ]
        )
        == 2
    )
    assert "--address goes with --executor ray" in capsys.readouterr().err


def test_a_full_disk_mid_run_stops_cleanly_and_keeps_finished_cells(tmp_path, monkeypatch, capsys):
    import errno
    import os as os_module

    import bench.store

    real_fsync, calls = os_module.fsync, []

    def fsync_until_full(fd):
        calls.append(fd)
        if len(calls) > 1:  # the first record is stored, the second finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(bench.store.os, "fsync", fsync_until_full)
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "--arch",
                "rnn",
                "gru",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(out),
                "--no-progress",
                "--set",
                *TINY,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "No space left on device" in err and "rerun the same command to resume" in err
    assert list(bench.load_results(out)["arch"]) == ["rnn"]
    assert not list((out / "cells").glob(".*.tmp"))  # no half-written record left behind
