"""Memory horizon: sweep the sequence length T and find the longest T each architecture solves.

A (architecture, T) pair is solved when at least half of its seeds reach the task's solved
threshold; the horizon is the longest T solved with every shorter T solved too (">= T" when
that is the longest T tried). The success rate over seeds is reported beside every verdict,
and the horizon's 95% range beside the horizon (`horizon_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from bench import stats
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
    unequal_tuning: bool = False,
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
        for cell in expand(
            arch_names,
            [task_name],
            seeds,
            {**overrides, f"task.{option}": length},
            match,
            tune,
            unequal_tuning=unequal_tuning,
        )
    ]


def horizon_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (architecture, with the settings its cells differ in): the seeds that solved
    each length (a seed that diverged or failed did not), the horizon (the longest length
    solved by at least half the seeds, every shorter one too) and its 95% range: from the
    horizon the Wilson intervals of the solved fractions make sure of (lower bound at least
    one half at every length up to it) to the one they leave possible (upper bound)."""
    frame = frame[frame["length"].notna()].copy()
    solved = frame["solved"].fillna(False).astype(bool)
    if "status" in frame:
        solved &= frame["status"] == "ok"
    frame["solved"] = solved
    option = frame["length_option"].iloc[0] if len(frame) else "T"
    rate = frame.groupby(["model", "length"])["solved"].agg(["sum", "count"])
    table = {}
    for model, group in rate.groupby(level="model"):
        lengths = [int(T) for T in group.index.get_level_values("length")]
        row, reached = {}, {"horizon": None, "surely": None, "possibly": None}
        unbroken = dict.fromkeys(reached, True)
        for T, (solved_count, count) in zip(lengths, group.to_numpy(), strict=True):
            row[f"{option}={T}"] = f"{int(solved_count)}/{int(count)}"
            low, high = stats.wilson(int(solved_count), int(count))
            for key, holds in (
                ("horizon", solved_count * 2 >= count),
                ("surely", low >= 0.5),
                ("possibly", high >= 0.5),
            ):
                unbroken[key] = unbroken[key] and bool(holds)
                if unbroken[key]:
                    reached[key] = T
        shown = {key: _shown(value, lengths) for key, value in reached.items()}
        row["horizon"] = shown["horizon"]
        row["95% range"] = f"{shown['surely']} to {shown['possibly']}"
        table[model] = row
    return pd.DataFrame(table).T.rename_axis("arch")


def _shown(horizon: int | None, lengths: list[int]) -> str:
    """A horizon as tables show it: "< first" when not even the shortest length is reached,
    ">= longest" when the longest tried is (the true horizon may lie beyond it)."""
    if horizon is None:
        return f"< {lengths[0]}"
    return f">= {horizon}" if horizon == lengths[-1] else str(horizon)
