"""The whole path: CLI -> runner -> store -> report, on the built-in synthetic task."""

from __future__ import annotations

import json
import math
import types

import pandas as pd
import pytest
import torch

import bench
from bench import Architecture, hookimpl
from bench.cli import main
from bench.planner import expand

TINY = [
    "threads=1",
    "max_steps=6",
    "eval_every=3",
    "T=8",
    "train_size=96",
    "valid_size=32",
    "test_size=32",
    "hidden_size=8",
]


def run_cli(out, *extra):
    return main(
        [
            "run",
            "--arch",
            "rnn",
            "gru",
            "--task",
            "adding",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            *TINY,
            *extra,
        ]
    )


def test_run_writes_records_and_a_report_then_redoes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(out) == 0
    first = capsys.readouterr()
    records = sorted(out.glob("cells/*.json"))
    assert len(records) == 4
    assert "| arch" in first.out and "adding T=8 (mse)" in first.out and "(n=2)" in first.out
    assert (out / "summary.csv").exists() and (out / "cells.csv").exists()

    record = json.loads(records[0].read_text())
    assert record["status"] == "ok"
    assert record["config"]["run"]["max_steps"] == 6
    assert record["environment"]["torch"] == torch.__version__
    assert record["throughput"]["train_tokens_per_s"] > 0
    # the timed parts of a cell never add up to more than its wall time
    timed = record["train_seconds"] + record["eval_seconds"] + record["probe_seconds"]
    assert min(record["train_seconds"], record["eval_seconds"], record["probe_seconds"]) > 0
    assert timed <= record["wall_seconds"]
    throughput = pd.read_csv(out / "throughput.csv")
    assert throughput["untimed, % of wall"].between(0, 100).all()
    assert [h["step"] for h in record["history"]] == [0, 3, 6]

    stamps = {p: p.stat().st_mtime_ns for p in records}
    assert run_cli(out) == 0
    second = capsys.readouterr()
    assert "4 of 4 cells already in" in second.err
    assert {p: p.stat().st_mtime_ns for p in out.glob("cells/*.json")} == stamps


def test_report_command_prints_the_table(tmp_path, capsys):
    out = tmp_path / "run"
    run_cli(out)
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    table = capsys.readouterr().out
    assert "gru" in table and "rnn" in table


def test_report_of_an_empty_folder_is_explained(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no results" in capsys.readouterr().err


def test_python_api_returns_a_dataframe(tmp_path):
    frame = bench.run("lstm", "adding", seeds=[3], overrides=dict(s.split("=") for s in TINY), out=tmp_path)
    assert list(frame["arch"]) == ["lstm"]
    assert frame.loc[0, "seed"] == 3
    assert math.isfinite(frame.loc[0, "test_mse"])


class DtypeSpy(torch.nn.Module):
    """An LSTM that notes the dtype its recurrence computes in, in training and in evaluation."""

    seen: list[tuple[bool, torch.dtype]] = []

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        states, _ = self.lstm(x)
        DtypeSpy.seen.append((self.training, states.dtype))
        return states[torch.arange(len(lengths)), lengths - 1]


@pytest.mark.parametrize("task", ["adding", "recall"])  # float32 inputs through a linear map; an embedding
@pytest.mark.parametrize(("precision", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_precision_sets_the_dtype_of_training_and_evaluation(tmp_path, register_plugin, precision, dtype, task):
    plugin = types.SimpleNamespace(
        rnnbench_register_architectures=hookimpl(lambda: [Architecture("spy", "Records dtypes.", DtypeSpy)])
    )
    register_plugin(plugin, "spy")
    DtypeSpy.seen = []
    overrides = dict(s.split("=") for s in TINY) | {"precision": precision}
    frame = bench.run("spy", task, seeds=[0], overrides=overrides, out=tmp_path)
    assert frame.loc[0, "status"] == "ok", frame.loc[0, "error"]
    assert math.isfinite(frame.loc[0, f"test_{frame.loc[0, 'metric']}"])
    computed_in = {seen for _, seen in DtypeSpy.seen}
    assert {(True, dtype), (False, dtype)} <= set(DtypeSpy.seen)  # training steps and evaluation
    assert computed_in == {dtype, torch.float64}  # the gradient probe stays in float64


def test_precision_is_part_of_a_cells_identity_only_when_set():
    fp32, bf16 = (expand(["lstm"], ["adding"], [0], {"precision": precision})[0] for precision in ("fp32", "bf16"))
    assert fp32.id != bf16.id
    # at its default the setting stays out, so cells stored before it existed keep their ids
    assert "precision" not in fp32.identity()["run"] and bf16.identity()["run"]["precision"] == "bf16"
    assert fp32.config()["run"]["precision"] == "fp32"  # the record still says what ran


class Exploding(torch.nn.Module):
    """Overflows float32 at once: a model that diverges."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = torch.nn.Linear(input_size, hidden_size)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.linear(x).sum(1) * 1e30


class Crashing(Exploding):
    def forward(self, x, lengths):
        if self.training:
            raise RuntimeError("this plugin has a bug")
        return super().forward(x, lengths)


def test_divergence_is_a_result_and_a_crash_does_not_stop_the_suite(tmp_path, register_plugin, capsys):
    plugin = types.SimpleNamespace(
        rnnbench_register_architectures=hookimpl(
            lambda: [
                Architecture("exploding", "Diverges.", Exploding),
                Architecture("crashing", "Raises in training.", Crashing),
            ]
        )
    )
    register_plugin(plugin, "faulty")
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--arch",
            "exploding",
            "crashing",
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
    assert code == 1  # a failed cell makes the exit status non-zero
    frame = bench.load_results(out).set_index("arch")
    assert frame.loc["exploding", "status"] == "diverged"
    assert "loss became" in frame.loc["exploding", "error"]
    assert frame.loc["crashing", "status"] == "error"
    assert "this plugin has a bug" in frame.loc["crashing", "error"]
    assert frame.loc["gru", "status"] == "ok"
    assert "diverged" in capsys.readouterr().out

    # a rerun keeps the failure unless asked to compute it again
    assert (
        main(
            [
                "run",
                "--arch",
                "crashing",
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
        == 0
    )
    err = capsys.readouterr().err
    assert "1 of 1 cells already" in err and "(1 error; --rerun STATUS computes those again)" in err
    assert (
        main(
            [
                "run",
                "--arch",
                "crashing",
                "--task",
                "adding",
                "--seeds",
                "0",
                "--out",
                str(out),
                "--no-progress",
                "--rerun",
                "error",
                "--set",
                *TINY,
            ]
        )
        == 1
    )  # reran, failed again


def test_bad_override_fails_before_training(tmp_path, capsys):
    assert (
        main(["run", "--arch", "gru", "--task", "adding", "--out", str(tmp_path / "x"), "--set", "hidden_size=-3"]) == 2
    )
    assert "hidden_size must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bad", ["--seeds", "--arch"])
def test_missing_values_are_argparse_errors(bad):
    with pytest.raises(SystemExit):
        main(["run", "--task", "adding", bad])


def test_data_command_explains_generated_tasks(capsys):
    assert main(["data", "adding"]) == 0
    assert "nothing to download" in capsys.readouterr().err
    assert main(["data", "imbd"]) == 2
    assert "Did you mean 'imdb'" in capsys.readouterr().err


class NanInTraining(Exploding):
    def forward(self, x, lengths):
        out = self.linear(x).sum(1)
        return out * float("nan") if self.training else out


class AllSteps(Exploding):
    """Returns every step's state instead of one vector per sequence: a contract breach."""

    def forward(self, x, lengths):
        return self.linear(x)


def test_failures_say_what_happened_and_where_to_look(tmp_path, register_plugin):
    plugin = types.SimpleNamespace(
        rnnbench_register_architectures=hookimpl(
            lambda: [
                Architecture("nan_loss", "NaN in training.", NanInTraining),
                Architecture("all_steps", "Wrong shape.", AllSteps),
            ]
        )
    )
    register_plugin(plugin, "faulty")
    out = tmp_path / "run"
    args = ["run", "--arch", "nan_loss", "all_steps", "--task", "adding", "--seeds", "0", "--out", str(out)]
    assert main([*args, "--no-progress", "--set", *TINY]) == 1
    frame = bench.load_results(out).set_index("arch")
    assert frame.loc["nan_loss", "status"] == "diverged"
    assert frame.loc["nan_loss", "error"].startswith("loss became nan at step 1")  # NaN, not "inf"
    assert frame.loc["all_steps", "status"] == "error"
    error = frame.loc["all_steps", "error"]
    assert "returned (" in error and "Run `rnnbench check`" in error  # not a raw "size of tensor a..."


def test_rerun_recomputes_chosen_statuses_and_keeps_the_rest(tmp_path, register_plugin, capsys):
    register_plugin(
        types.SimpleNamespace(
            rnnbench_register_architectures=hookimpl(lambda: [Architecture("exploding", "Diverges.", Exploding)])
        ),
        "faulty",
    )
    out = tmp_path / "run"
    args = ["run", "--arch", "exploding", "gru", "--task", "adding", "--seeds", "0", "--out", str(out), "--no-progress"]
    assert main([*args, "--set", *TINY]) == 0

    def contents():
        return {p.name.split("-")[1]: p.read_bytes() for p in (out / "cells").glob("*.json")}

    first = contents()
    assert main([*args, "--rerun", "diverged", "--set", *TINY]) == 0
    second = contents()
    assert second["gru"] == first["gru"] and second["exploding"] != first["exploding"]  # recomputed
    assert "1 of 2 cells already" in capsys.readouterr().err
    assert main([*args, "--rerun", "all", "--set", *TINY]) == 0
    third = contents()
    assert third["gru"] != second["gru"] and third["exploding"] != second["exploding"]
    with pytest.raises(bench.ConfigError, match="cannot rerun nonsense"):
        bench.run("gru", "adding", seeds=[0], overrides=dict(s.split("=") for s in TINY), out=out, rerun=["nonsense"])
