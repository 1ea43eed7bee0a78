"""Memory-horizon sweeps, verdict tables and the figures written with every results folder."""

from __future__ import annotations

import pandas as pd
import pytest

from bench import ConfigError
from bench.cli import main
from bench.horizon import horizon_cells, horizon_table
from tests.helpers import TINY_RUN

TINY = [*TINY_RUN, "probe_points=1"]


def frame(rows):
    return pd.DataFrame(rows, columns=["model", "length", "solved"]).assign(length_option="T")


def test_horizon_is_the_longest_T_solved_by_most_seeds_with_no_gap():
    rows = [("gru", T, True) for T in (10, 20, 50) for _ in range(3)]
    rows += [("rnn", 10, True), ("rnn", 10, True), ("rnn", 10, False)]  # 2/3 at T=10
    rows += [("rnn", 20, False)] * 3 + [("rnn", 50, True)] * 3  # a lucky longer T does not count
    rows += [("lstm", 10, False)] * 3
    table = horizon_table(frame(rows))
    assert table.loc["gru", "horizon"] == ">= 50"  # solved at the longest T tried
    assert table.loc["rnn", "horizon"] == "10" and table.loc["rnn", "T=10"] == "2/3"
    assert table.loc["lstm", "horizon"] == "< 10"


def test_horizon_needs_a_task_with_T_and_a_threshold():
    with pytest.raises(ConfigError, match="declares no sequence length option"):
        horizon_cells(["gru"], "imdb", [10], [0])
    with pytest.raises(ConfigError, match="with --T"):
        horizon_cells(["gru"], "adding", [10], [0], {"T": "5"})
    cells = horizon_cells(["gru", "rnn"], "recall", [5, 9], [0, 1])
    assert sorted({c.task_options["T"] for c in cells}) == [5, 9] and len(cells) == 8


def test_horizon_command_writes_tables_and_every_figure(tmp_path, capsys):
    out = tmp_path / "h"
    code = main(
        [
            "horizon",
            "--arch",
            "rnn",
            "bilstm",
            "--task",
            "adding",
            "--T",
            "6",
            "10",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            *TINY,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Memory horizon on adding" in printed and "T=6" in printed and "T=10" in printed
    assert "Gradient decay" in printed and "dL/dh backward" in printed  # bilstm: one row per direction
    for name in ("gradients_adding", "curves_adding", "horizon_adding"):
        for suffix in ("png", "svg"):
            path = out / "figures" / f"{name}.{suffix}"
            assert path.stat().st_size > 5_000, path
    assert (out / "figures" / "gradients_adding.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cells = pd.read_csv(out / "cells.csv")
    # every row says how it was produced: T, the step budget and the evaluation cadence
    assert {"task.T", "run.max_steps", "run.eval_every"} <= set(cells.columns)
    assert set(cells["task.T"]) == {6, 10} and set(cells["run.max_steps"]) == {4}
    assert (out / "gradients.csv").exists() and (out / "solved.csv").exists()


def test_probe_tasks_default_to_three_seeds(tmp_path, capsys):
    out = tmp_path / "r"
    assert (
        main(["run", "--arch", "gru", "--task", "recall", "--out", str(out), "--no-progress", "--set", "T=5", *TINY])
        == 0
    )
    assert len(list((out / "cells").glob("*.json"))) == 3
