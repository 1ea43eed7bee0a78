"""The per-experiment tables of a results folder: test metric per model, length
generalisation, solved seeds, gradient decay, throughput. (The fair-comparison tables, with
confidence intervals, ranks and tuning, are in `bench.leaderboard`.)

Each table reads the labelled frame of `bench.results` and the metrics' declarations
(`metrics`: each task's headline `bench.metrics.Metric`), never a metric's name.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bench.metrics import Metric
from bench.results import value_name
from bench.verdicts import solved

Metrics = Mapping[str, Metric]  # task name -> its headline metric


def markdown(table: pd.DataFrame) -> str:
    """A table as markdown; a multi-level index becomes one column per level, a plain row
    count (a flat table's) is left out, and a missing value shows as "–", not "nan"."""
    if isinstance(table.index, pd.MultiIndex):
        table = table.reset_index()
    index = not (table.index.name is None and isinstance(table.index, pd.RangeIndex))
    shown = table.astype(object).where(table.notna(), None)  # tabulate writes None as missingval
    return shown.to_markdown(index=index, floatfmt=".3g", missingval="–")


def first_present(values: pd.Series) -> object:
    """The first value that is not missing, or None."""
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def experiments(frame: pd.DataFrame, metrics: Metrics) -> list[tuple[str, Metric, pd.DataFrame]]:
    """(experiment, its headline metric, its cells), in the frame's order; error cells and
    experiments without a declared metric are left out."""
    measured = frame[frame["status"] != "error"]
    return [
        (experiment, metrics[cells["task"].iloc[0]], cells)
        for experiment, cells in measured.groupby("experiment", sort=False)
        if cells["task"].iloc[0] in metrics
    ]


def summary_column(experiment: str, metric: Metric) -> str:
    """The summary table's column of an experiment: its name and the metric's unit."""
    return f"{experiment} ({metric.label})"


def summary_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Architecture x task: headline test metric, mean ± std over seeds (as the metric is shown)."""
    table: dict[str, dict[str, str]] = {}
    for (experiment, task), group in frame.groupby(["experiment", "task"], sort=False):
        if task not in metrics:
            continue
        metric = metrics[task]
        column = summary_column(experiment, metric)
        for model, cells in group.groupby("model", sort=True):
            value = mean_std(cells, f"test_{metric.name}", metric)
            setting = _first_setting(cells)
            table.setdefault(model, {})[column] = f"{value} [{setting}]" if setting else value
    return pd.DataFrame(table).T.rename_axis("arch").fillna("")


def _first_setting(cells: pd.DataFrame) -> str:
    """The tuned setting these cells share ('' without tuning)."""
    return str(cells["setting"].iloc[0]) if "setting" in cells and len(cells) else ""


def mean_std(cells: pd.DataFrame, column: str, metric: Metric) -> str:
    """``mean ± std (n=N)`` of a column over the cells, with the count of cells that did not
    end ok, and "†" when a cell's weights never improved on their initialisation; "–" when
    no cell has a finite value."""
    values = cells[column].astype(float) if column in cells else pd.Series(dtype=float)
    values = values[np.isfinite(values)]  # a diverged cell may score inf; its status says so
    n = len(values)
    flags = [f"{count} {status}" for status, count in cells["status"].value_counts().items() if status != "ok"]
    if "best_step" in cells and (cells["best_step"].eq(0) & cells["steps"].gt(0)).any():
        flags.append("† untrained")
    note = f" ({', '.join(flags)})" if flags else ""
    if n == 0:
        return "–" + note
    spread = f" ± {metric.show(values.std(ddof=1))}" if n > 1 else ""
    return f"{metric.show(values.mean())}{spread} (n={n}){note}"


def generalisation_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Length generalisation: per experiment and model, the test metric at the trained length
    and at every length it was tested at besides (``eval_lengths``), mean ± std over seeds."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for (experiment, task), group in frame.groupby(["experiment", "task"], sort=False):
        if task not in metrics:
            continue
        metric = metrics[task]
        prefix = f"test_{metric.name}@"
        columns = sorted((c for c in group if c.startswith(prefix)), key=lambda c: int(c.split("@")[1]))
        columns = [c for c in columns if group[c].notna().any()]
        if not columns:
            continue
        option = first_present(group["length_option"]) or "length"
        for model, cells in group.groupby("model", sort=True):
            trained = f"trained ({option}={value_name(first_present(cells['length']))})"
            row = {trained: mean_std(cells, f"test_{metric.name}", metric)}
            for column in columns:
                row[f"{option}={column.split('@')[1]}"] = mean_std(cells, column, metric)
            table[(experiment, model)] = row
    if not table:
        return pd.DataFrame()
    return pd.DataFrame(table).T.rename_axis(["task", "arch"]).fillna("")


def failures_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell that did not end ok: where, its status, and what happened (the record in
    cells/ holds the traceback of an error)."""
    failed = frame[frame["status"] != "ok"]
    columns = {
        "experiment": "experiment",
        "model": "arch",
        "seed": "seed",
        "status": "status",
        "error": "what happened",
    }
    return failed[list(columns)].rename(columns=columns).reset_index(drop=True) if len(failed) else pd.DataFrame()


def seeds_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Every seed's value: per experiment, model, setting and seed, its role (a tuning seed,
    or a confirmation seed of the selected setting), status, test and validation metric,
    whether it solved the task, and whether its weights ever improved on the initial ones."""
    rows = []
    for _, row in frame.iterrows():
        metric = metrics.get(row["task"])
        if metric is None:
            continue
        rows.append(
            {
                "experiment": row["experiment"],
                "arch": row["model"],
                "setting": row["setting"],
                "seed": row["seed"],
                "role": "confirmation" if row["confirmation"] else "tuning" if row["setting"] else "",
                "selected": bool(row["selected"]),
                "status": row["status"],
                "metric": metric.name,
                "test": row.get(f"test_{metric.name}"),
                "valid": row.get(f"valid_{metric.name}"),
                "solved": row["solved"],
                "untrained": bool(row["best_step"] == 0 and row["steps"] > 0),
            }
        )
    return pd.DataFrame(rows)


def state_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """The test metric against the recurrent state, where an experiment's cells of one
    architecture differ in their state size (a sweep of ``--match state=N``, Zoology's central
    figure): mean ± std over seeds at each state size."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for (experiment, task, arch), cells in frame.groupby(["experiment", "task", "arch"], sort=False):
        if task not in metrics or cells["state_size"].nunique() < 2:
            continue
        for state, group in cells.groupby("state_size"):
            table.setdefault((experiment, arch), {})[f"state={int(state)}"] = mean_std(
                group, f"test_{metrics[task].name}", metrics[task]
            )
    if not table:
        return pd.DataFrame()
    result = pd.DataFrame(table).T.rename_axis(["task", "arch"])
    ordered = sorted(result.columns, key=lambda c: int(c.split("=")[1]))
    return result[ordered].fillna("")


GRADIENT_COLUMNS = {"half_life": "half-life (steps)", "decay_per_step": "decades/step", "first_to_last": "first/last"}


def gradient_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and task: how fast the gradient decays going back, at initialisation
    and after training (median over seeds). One row per direction of a bidirectional model;
    the input gradient dL/dx_t for encoders without ``unrolled()``."""
    rows = []
    for (task, arch), cells in frame.groupby(["experiment", "model"], sort=False):

        def present(profile: str) -> bool:
            column = f"grad_init_{profile}_half_life"
            return column in cells and cells[column].notna().any()  # noqa: B023 (used at once)

        profiles = [p for p in ("forward", "backward") if present(p)] or [p for p in ("input",) if present(p)]
        for profile in profiles:
            row = {"task": task, "arch": arch, "gradient": "dL/dx" if profile == "input" else f"dL/dh {profile}"}
            for moment in ("init", "trained"):
                for name, label in GRADIENT_COLUMNS.items():
                    row[f"{label} {moment}"] = cells[f"grad_{moment}_{profile}_{name}"].astype(float).median()
            rows.append(row)
    return pd.DataFrame(rows).set_index(["task", "arch", "gradient"]) if rows else pd.DataFrame()


def verdict_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Seeds that solved each probe, per architecture and task (tasks with a threshold only).
    A seed that diverged or failed counts, as not solved."""
    thresholded = frame.groupby("experiment")["solved"].transform(lambda v: v.notna().any()).astype(bool)
    judged = frame[thresholded]
    if judged.empty:
        return pd.DataFrame()
    counts = (
        judged.assign(solved=solved(judged))
        .groupby(["model", "experiment"], sort=False)["solved"]
        .agg(["sum", "count"])
    )
    labels = counts.apply(lambda r: f"{int(r['sum'])}/{int(r['count'])}", axis=1)
    return labels.unstack("experiment").sort_index().rename_axis(index="arch", columns=None)


THROUGHPUT_COLUMNS = {
    "train_tokens_per_s": "train tokens/s",
    "train_samples_per_s": "train samples/s",
    "train_step_median_ms": "train step ms (median)",
    "eval_tokens_per_s": "eval tokens/s",
    "params": "parameters",
    "peak_memory_mb": "peak memory MB",
}


def throughput_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and task: speed and size, median over seeds (warm-up excluded)."""
    present = [c for c in THROUGHPUT_COLUMNS if c in frame]
    if not present:
        return pd.DataFrame()
    table = frame.groupby(["experiment", "model"], sort=False)[present].median()
    counts = [c for c in present if c != "train_step_median_ms"]  # read as whole numbers
    table[counts] = table[counts].round().astype("Int64")
    shares = {}
    if "probe_seconds" in frame and frame["probe_seconds"].notna().any():
        shares["gradient probes, % of training"] = frame["probe_seconds"] / frame["train_seconds"]
    if "eval_seconds" in frame and frame["eval_seconds"].notna().any():
        # what the timers leave out: data preparation, training batches, model set-up, checkpoints
        untimed = frame["wall_seconds"] - frame[["train_seconds", "eval_seconds", "probe_seconds"]].sum(axis=1)
        shares["untimed, % of wall"] = untimed / frame["wall_seconds"]
    for column, share in shares.items():
        by_cell = frame.assign(share=100 * share)
        table[column] = by_cell.groupby(["experiment", "model"], sort=False)["share"].median().round(1)
    return table.rename(columns=THROUGHPUT_COLUMNS).rename_axis(["task", "arch"])
