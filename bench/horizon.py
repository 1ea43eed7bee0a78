"""Memory horizon: sweep the sequence length T and find the longest T each architecture solves.

A (architecture, T) pair is solved when at least half of its seeds reach the task's solved
threshold; the horizon is the longest T solved with every shorter T solved too (">= T" when
that is the longest T tried). The success rate over seeds is reported beside every verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from bench.cell import Cell
from bench.errors import ConfigError
from bench.planner import expand
from bench.plugins import tasks


def horizon_cells(
    arch_names: Iterable[str],
    task_name: str,
    lengths: Iterable[int],
    seeds: Iterable[int],
    overrides: Mapping[str, Any] | None = None,
    match: str | None = None,
    tune: Mapping[str, Any] | None = None,
) -> list[Cell]:
    """The cells of a horizon sweep: every length of ``lengths`` (the task's declared length
    option), with the budget ``match`` and the ``tune`` grid of `bench.config.expand`."""
    task = tasks().get(task_name)
    option = task.length_option
    if option is None:
        raise ConfigError(
            f"task '{task_name}' declares no sequence length option (length_option); horizon sweeps need one"
        )
    if task.solved_threshold is None:
        raise ConfigError(f"task '{task_name}' has no solved threshold; horizon sweeps need one")
    overrides = dict(overrides or {})
    if option in overrides or f"task.{option}" in overrides:
        raise ConfigError(f"give sequence lengths with --T, not --set {option}=...")
    arch_names, seeds, lengths = list(arch_names), list(seeds), list(lengths)
    repeated = sorted({length for length in lengths if lengths.count(length) > 1})
    if repeated:  # it would train the same cells twice
        raise ConfigError(f"--T gives {', '.join(map(str, repeated))} more than once; give each length once")
    return [
        cell
        for length in lengths
        for cell in expand(arch_names, [task_name], seeds, {**overrides, f"task.{option}": length}, match, tune)
    ]


def horizon_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (architecture, with the settings its cells differ in): success rate at each
    T, and the horizon (longest T solved in a row)."""
    frame = frame[frame["length"].notna()].copy()
    frame["solved"] = frame["solved"].fillna(False).astype(bool)
    option = frame["length_option"].iloc[0] if len(frame) else "T"
    rate = frame.groupby(["model", "length"])["solved"].agg(["sum", "count"])
    table = {}
    for model, group in rate.groupby(level="model"):
        row, horizon, unbroken = {}, None, True
        for (_, T), (solved, count) in group.iterrows():
            row[f"{option}={int(T)}"] = f"{int(solved)}/{int(count)}"
            unbroken = unbroken and solved * 2 >= count
            if unbroken:
                horizon = int(T)
        longest = int(group.index[-1][1])
        if horizon is None:
            row["horizon"] = f"< {int(group.index[0][1])}"
        else:  # solved at the longest T tried: the true horizon may lie beyond it
            row["horizon"] = f">= {horizon}" if horizon == longest else str(horizon)
        table[model] = row
    return pd.DataFrame(table).T.rename_axis("arch")
