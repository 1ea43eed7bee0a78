"""Results -> pandas: one row per cell, and the architecture x task summary table."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.config import RunConfig
from bench.files import write_outputs
from bench.leaderboard import comparisons_table, first_present, higher_is_better, leaderboard_table, tuning_table
from bench.store import Store


def load_results(directory: str | os.PathLike) -> pd.DataFrame:
    """One row per stored cell: identity, status, headline metrics, throughput, gradients.

    Nested parts of a record (history, gradient profiles, environment) stay available in
    the JSON files; this frame holds the flat numbers people compare.
    """
    rows = [_flatten(record) for record in Store(directory).records()]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = _label(frame)
    return frame.sort_values(["task", "length", "arch", "seed"], kind="stable").reset_index(drop=True)


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    # A record written before a setting existed ran as that setting's default does (a new
    # setting's default keeps the old behaviour), so old and new records compare.
    run = {**RunConfig.defaults(), **record.get("config", {}).get("run", {})}
    options = record.get("config", {}).get("task_options", {})
    # Records written before tasks declared their length option: the built-in probes' T.
    length_option = record.get("length_option", "T" if "T" in options else None)
    row: dict[str, Any] = {
        "id": record["id"],
        "arch": record["arch"],
        "task": record["task"],
        "seed": record["seed"],
        "status": record["status"],
        "error": record.get("error"),
        "metric": record.get("metric"),
        "higher_is_better": record.get("higher_is_better"),
        "encoder_params": record.get("encoder_params"),
        "state_size": record.get("state_size"),
        "match": record.get("match"),
        "tuned": ",".join(record.get("tuned") or []),
        "length_option": length_option,
        "length": options.get(length_option) if length_option else None,
        "chance": record.get("chance"),
        "solved": record.get("solved"),
        "steps": record.get("steps"),
        "params": record.get("params"),
        "train_seconds": record.get("train_seconds"),
        "probe_seconds": record.get("probe_seconds"),
        "eval_seconds": record.get("eval_seconds"),
        "wall_seconds": record.get("wall_seconds"),
    }
    row.update({f"run.{k}": v for k, v in run.items() if k not in RunConfig.EXECUTION})
    row.update({f"arch.{k}": v for k, v in record.get("config", {}).get("arch_options", {}).items()})
    row.update({f"task.{k}": v for k, v in options.items()})
    row.update({f"test_{k}": v for k, v in record.get("test", {}).items()})
    row.update({f"valid_{k}": v for k, v in record.get("valid", {}).items()})
    for length, metrics in (record.get("test_at_length") or {}).items():
        row.update({f"test_{k}@{length}": v for k, v in metrics.items()})
    row.update(record.get("throughput", {}))
    profiles = record.get("gradients") or []
    for moment, profile in (
        ("init", profiles[0] if profiles else None),
        ("trained", profiles[-1] if profiles else None),
    ):
        for direction, summary in (profile or {}).get("summary", {}).items():
            for name, value in summary.items():
                row[f"grad_{moment}_{direction}_{name}"] = value
    return row


def _label(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds the labels every table and figure groups by, so that cells which differ in what
    decides their result are never averaged together:

    - ``setup``: the task, with any task option other than its length option on which its
      cells differ (``imdb keep=first`` beside ``imdb keep=last``); figures are drawn per setup;
    - ``experiment``: the setup, with its sequence length when the task declares a length
      option (probes are compared at one sequence length at a time: ``adding T=100``);
    - ``model``: the architecture, with any run setting or architecture option on which its
      cells of one experiment differ (``lstm precision=bf16`` beside ``lstm precision=fp32``),
      except the tuned ones;
    - ``setting``: the values of the tuned keys (``lr=0.003``; empty without tuning), and
      ``selected``: whether the cell has its model's selected setting (`select`).
    """
    setup = pd.Series(index=frame.index, dtype=object)
    experiment = pd.Series(index=frame.index, dtype=object)
    for task, cells in frame.groupby("task", sort=False):
        options = cells["length_option"].dropna()
        column = f"task.{options.iloc[0]}" if len(options) else None
        differing = [c for c in _differing(cells, ("task.",)) if c != column]
        length = [column] if column in cells and cells[column].notna().all() else []
        for index, row in cells.iterrows():
            setup[index] = _name(task, row, differing)
            experiment[index] = _name(setup[index], row, length)
    frame = frame.assign(setup=setup, experiment=experiment)
    model = pd.Series(index=frame.index, dtype=object)
    setting = pd.Series("", index=frame.index, dtype=object)
    for (_, arch), cells in frame.groupby(["experiment", "arch"], sort=False):
        tuned = _tuned_columns(cells)
        differing = [c for c in _differing(cells, ("run.", "arch.")) if c not in tuned]
        model[cells.index] = [_name(arch, row, differing) for _, row in cells.iterrows()]
        if tuned:
            setting[cells.index] = [_name("", row, tuned).strip() for _, row in cells.iterrows()]
    return select(frame.assign(model=model, setting=setting))


def _tuned_columns(cells: pd.DataFrame) -> list[str]:
    """The columns of the keys these cells' tuning grid varied (``lr`` -> ``run.lr``)."""
    keys = {key for listed in cells["tuned"].dropna() for key in listed.split(",") if key}
    columns = [f"{prefix}{key.removeprefix('arch.')}" for key in sorted(keys) for prefix in ("run.", "arch.")]
    return [column for column in columns if column in cells]


def select(frame: pd.DataFrame) -> pd.DataFrame:
    """Marks ``selected``: per experiment and model, the cells of the tuned setting with the
    best mean *validation* metric over seeds (test metrics never enter the choice). Without
    tuning every cell is selected."""
    selected = pd.Series(True, index=frame.index)
    for _, cells in frame.groupby(["experiment", "model"], sort=False):
        if cells["setting"].nunique() < 2:
            continue
        scores = cells[f"valid_{cells['metric'].iloc[0]}"].astype(float)
        # a seed that diverged has no finite validation score; a setting with none at all loses
        means = scores[np.isfinite(scores)].groupby(cells["setting"]).mean()
        settings = list(dict.fromkeys(cells["setting"]))
        best = (means.idxmax() if higher_is_better(cells) else means.idxmin()) if len(means) else settings[0]
        selected[cells.index] = cells["setting"] == best
    return frame.assign(selected=selected)


def chosen(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells the tables and figures report: each model's selected setting."""
    return frame[frame["selected"]] if "selected" in frame else frame


def _differing(cells: pd.DataFrame, prefixes: tuple[str, ...]) -> list[str]:
    columns = [c for c in cells if c.startswith(prefixes)]
    return [c for c in columns if cells[c].astype(str).nunique() > 1]


def _name(base: str, row: pd.Series, columns: list[str]) -> str:
    settings = [f"{column.split('.', 1)[1]}={_value(row[column])}" for column in columns]
    return " ".join([base, *settings])


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # T=100, not T=100.0 (pandas stores a column with gaps as floats)
    return str(value)


def markdown(table: pd.DataFrame) -> str:
    """A table as markdown; a multi-level index becomes one column per level."""
    if isinstance(table.index, pd.MultiIndex):
        return table.reset_index().to_markdown(index=False, floatfmt=".3g")
    return table.to_markdown(floatfmt=".3g")


def summary_column(experiment: str, metric: str) -> str:
    """The summary table's column of an experiment: its name and the metric's unit."""
    return f"{experiment} ({'acc %' if metric == 'accuracy' else metric})"


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Architecture x task: headline test metric, mean ± std over seeds (accuracy in %)."""
    table: dict[str, dict[str, str]] = {}
    for (experiment, metric), group in frame.groupby(["experiment", "metric"], sort=False):
        column = summary_column(experiment, metric)
        scale = 100.0 if metric == "accuracy" else 1.0
        for model, cells in group.groupby("model", sort=True):
            value = _mean_std(cells, f"test_{metric}", scale)
            setting = _first_setting(cells)
            table.setdefault(model, {})[column] = f"{value} [{setting}]" if setting else value
    return pd.DataFrame(table).T.rename_axis("arch").fillna("")


def _first_setting(cells: pd.DataFrame) -> str:
    """The tuned setting these cells share ('' without tuning)."""
    return str(cells["setting"].iloc[0]) if "setting" in cells and len(cells) else ""


def _mean_std(cells: pd.DataFrame, column: str, scale: float) -> str:
    values = cells[column].astype(float) * scale
    values = values[np.isfinite(values)]  # a diverged cell may score inf; its status says so
    n = len(values)
    flags = [f"{count} {status}" for status, count in cells["status"].value_counts().items() if status != "ok"]
    note = f" ({', '.join(flags)})" if flags else ""
    if n == 0:
        return "–" + note
    form = ".1f" if scale == 100.0 else ".3g"  # percentages, or 3 significant digits (MSE)
    spread = f" ± {values.std(ddof=1):{form}}" if n > 1 else ""
    return f"{values.mean():{form}}{spread} (n={n}){note}"


def generalisation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Length generalisation: per experiment and model, the test metric at the trained length
    and at every length it was tested at besides (``eval_lengths``), mean ± std over seeds."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for (experiment, metric), group in frame.groupby(["experiment", "metric"], sort=False):
        columns = sorted((c for c in group if c.startswith(f"test_{metric}@")), key=lambda c: int(c.split("@")[1]))
        columns = [c for c in columns if group[c].notna().any()]
        if not columns:
            continue
        scale = 100.0 if metric == "accuracy" else 1.0
        option = first_present(group["length_option"]) or "length"
        for model, cells in group.groupby("model", sort=True):
            trained = f"trained ({option}={_value(first_present(cells['length']))})"
            row = {trained: _mean_std(cells, f"test_{metric}", scale)}
            for column in columns:
                row[f"{option}={column.split('@')[1]}"] = _mean_std(cells, column, scale)
            table[(experiment, model)] = row
    if not table:
        return pd.DataFrame()
    return pd.DataFrame(table).T.rename_axis(["task", "arch"]).fillna("")


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
    """Seeds that solved each probe, per architecture and task (tasks with a threshold only)."""
    judged = frame[frame["solved"].notna()]
    if judged.empty:
        return pd.DataFrame()
    solved = judged.assign(solved=judged["solved"].astype(bool))
    counts = solved.groupby(["model", "experiment"], sort=False)["solved"].agg(["sum", "count"])
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


FLAT_TABLES = ("cells", "comparisons")  # written without their (meaningless) row index


def write_report(directory: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Write every table as CSV into the results folder; return them by name."""
    directory = Path(directory)
    frame = load_results(directory)
    tables = {"cells": frame}
    if not frame.empty:
        reported = chosen(frame)  # each model at its selected setting; the tuning table shows the rest
        tables["summary"] = summary_table(reported)
        tables["leaderboard"] = leaderboard_table(reported)
        tables["comparisons"] = comparisons_table(reported)
        tables["tuning"] = tuning_table(frame)
        tables["generalisation"] = generalisation_table(reported)
        tables["solved"] = verdict_table(reported)
        tables["gradients"] = gradient_table(reported)
        tables["throughput"] = throughput_table(reported)
    write_outputs(
        directory,
        "table",
        {
            directory / f"{name}.csv": functools.partial(_write_csv, table, index=name not in FLAT_TABLES)
            for name, table in tables.items()
        },
    )
    return tables


def _write_csv(table: pd.DataFrame, path: Path, index: bool) -> None:
    table.to_csv(path, index=index)
