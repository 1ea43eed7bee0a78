"""A results folder, loaded once: its records and the flat frame every table, figure, page
and printout reads (`Results`). Nothing else reads the store for reporting.

The frame has one row per record: identity, status, headline metrics, throughput, and the
flat numbers each probe declares (`bench.probe.Probe.columns`). It is labelled so that cells
which differ in what decides their result are never averaged together (`label`), and each
tuned model's selected setting is marked (`select`).
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.config import RunConfig
from bench.errors import RnnbenchError
from bench.metrics import Metric
from bench.plugins import architectures, tasks
from bench.probe import Drawn, Probe, probes
from bench.record import Record
from bench.store import Store, StoreWarning, damaged_message
from bench.verdicts import Experiment, analyse


@dataclass
class Results:
    """What one results folder holds, read once."""

    directory: Path
    records: list[Record]  # valid records; of two records of the same cell, the newest
    frame: pd.DataFrame  # one labelled row per record (`load`)
    damaged: dict[Path, str] = field(default_factory=dict)  # files skipped, with what is wrong
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (kept id, dropped id)

    def metric(self, task: str) -> Metric:
        """The headline metric a task's records declare (the newest record's declaration)."""
        declared = [r.metric for r in self.records if r.task == task and r.metric is not None]
        if not declared:
            raise RnnbenchError(f"no record of task '{task}' declares its metric")
        return declared[-1]

    @property
    def metrics(self) -> dict[str, Metric]:
        """Each task's headline metric, by task name."""
        return {task: self.metric(task) for task in dict.fromkeys(r.task for r in self.records if r.metric)}

    def chosen(self) -> pd.DataFrame:
        """The cells tables and figures report: each model's selected setting (on its
        confirmation seeds when it has them)."""
        return chosen(self.frame)

    @functools.cached_property
    def verdicts(self) -> list[Experiment]:
        """Each experiment's verdicts on the reported cells (`bench.verdicts`), computed once."""
        return analyse(self.chosen(), self.metrics)

    def drawn(self) -> list[Drawn]:
        """The measured records of the chosen cells, labelled as the tables label them."""
        frame = self.chosen()
        labels = frame.set_index("id")[["setup", "model"]].to_dict("index")
        return [Drawn(r, **labels[r.id]) for r in self.records if r.id in labels and r.measured]

    def warnings(self) -> list[str]:
        """What a reader of this folder's reports must be told: damaged files, duplicates."""
        found = [damaged_message(self.damaged)] if self.damaged else []
        if self.duplicates:
            pairs = "\n".join(f"  - kept {kept}.json, left out {dropped}.json" for kept, dropped in self.duplicates)
            found.append(
                f"{len(self.duplicates)} record(s) in {self.directory / 'cells'} repeat a cell another record holds "
                f"(the same architecture, task, seed and settings, under another id: a plugin changed its options "
                f"without listing them in added_later). Each pair counts once, the newest:\n{pairs}\nDelete the "
                f"files left out to silence this."
            )
        return found


def load(directory: str | os.PathLike) -> Results:
    """Read a results folder once: valid records (damaged files and duplicates named in a
    `StoreWarning`), and their labelled frame."""
    store = Store(directory)
    if not store.cells.is_dir():
        raise RnnbenchError(
            f"'{directory}' holds no results (no cells/ folder); run `rnnbench run --out {directory}` first, or "
            f"check the path"
        )
    scan = store.scan()
    records, duplicates = deduplicate(scan.records, scan.modified)
    results = Results(Path(directory), records, frame(records), scan.damaged, duplicates)
    for message in results.warnings():
        warnings.warn(message, StoreWarning, stacklevel=2)
    return results


def load_results(directory: str | os.PathLike) -> pd.DataFrame:
    """One row per stored cell: identity, status, headline metrics, throughput, gradients.

    Nested parts of a record (history, gradient profiles, environment) stay available in
    the JSON files; this frame holds the flat numbers people compare."""
    return load(directory).frame


# --- one cell, one record ----------------------------------------------------------------


def deduplicate(records: list[Record], modified: dict[str, float]) -> tuple[list[Record], list[tuple[str, str]]]:
    """The records with each cell once: of two records of the same architecture, task, seed
    and settings (under different ids), the newest is kept. Returns (records, [(kept, dropped)])."""
    newest: dict[str, Record] = {}
    duplicates = []
    for record in records:
        key = settings_key(record)
        other = newest.get(key)
        if other is None:
            newest[key] = record
            continue
        kept, dropped = sorted((other, record), key=lambda r: (r.finished or "", modified.get(r.id, 0.0)))[::-1]
        newest[key] = kept
        duplicates.append((kept.id, dropped.id))
    kept_ids = {record.id for record in newest.values()}
    return [record for record in records if record.id in kept_ids], duplicates


def settings_key(record: Record) -> str:
    """Everything that decides a record's result: its architecture, task, seed and every
    setting as `setting_names` states it."""
    return json.dumps([record.arch, record.task, record.seed, setting_names(record)], sort_keys=True)


def _defaults(registry: Any, name: str) -> dict[str, Any]:
    return dict(registry.get(name).defaults) if name in registry else {}


# --- the frame -----------------------------------------------------------------------------


def frame(records: Iterable[Record]) -> pd.DataFrame:
    """The labelled frame of ``records``, sorted by task, length, architecture, seed."""
    records = list(records)
    probe_list = [probe for _, probe, _ in probes() if probe.columns is not None]
    table = pd.DataFrame([flatten(record, probe_list) for record in records])
    if table.empty:
        return table
    table = label(table, pd.DataFrame([setting_names(record) for record in records], index=table.index))
    return table.sort_values(["task", "length", "arch", "seed"], kind="stable").reset_index(drop=True)


def setting_names(record: Record) -> dict[str, str]:
    """Every setting of a record as labels show it (``{"run.lr": "0.002", "arch.forget_bias":
    "none", ...}``). An option the record does not state ran at its default (the registered
    plugin's, when it is registered); a null or NaN value is a value of its own, "none"."""
    run = {**RunConfig.defaults(), **record.run}
    arch_options = {**_defaults(architectures(), record.arch), **record.arch_options}
    task_options = {**_defaults(tasks(), record.task), **record.task_options}
    names = {f"run.{k}": value_name(v) for k, v in run.items() if k not in RunConfig.EXECUTION}
    names.update({f"arch.{k}": value_name(v) for k, v in arch_options.items()})
    names.update({f"task.{k}": value_name(v) for k, v in task_options.items()})
    return names


def flatten(record: Record, probe_list: list[Probe]) -> dict[str, Any]:
    """One record as a flat row."""
    # A record written before a setting existed ran as that setting's default does (a new
    # setting's default keeps the old behaviour), so old and new records compare.
    run = {**RunConfig.defaults(), **record.run}
    metric = record.metric
    row: dict[str, Any] = {
        "id": record.id,
        "arch": record.arch,
        "task": record.task,
        "seed": record.seed,
        "status": record.status,
        "error": record.error,
        "metric": metric.name if metric else None,
        "higher_is_better": metric.higher_is_better if metric else None,
        "encoder_params": record.encoder_params,
        "state_size": record.state_size,
        "match": record.match,
        "tuned": ",".join(record.tuned),
        "length_option": record.length_option,
        "length": record.length,
        "chance": record.chance,
        "solved": record.solved,
        "steps": record.steps,
        "best_step": record.best_step,
        "confirmation": record.confirmation,
        "seeded_data": record.seeded_data,
        "code": _code(record),
        "params": record.params,
        "train_seconds": record.train_seconds,
        "probe_seconds": record.probe_seconds,
        "eval_seconds": record.eval_seconds,
        "wall_seconds": record.wall_seconds,
    }
    row.update({f"run.{k}": v for k, v in run.items() if k not in RunConfig.EXECUTION})
    row.update({f"arch.{k}": v for k, v in record.arch_options.items()})
    row.update({f"task.{k}": v for k, v in record.task_options.items()})
    row.update({f"test_{k}": v for k, v in record.test.items()})
    row.update({f"valid_{k}": v for k, v in record.valid.items()})
    for length, metrics in record.test_at_length.items():
        row.update({f"test_{k}@{length}": v for k, v in metrics.items()})
    row.update(record.throughput)
    for probe in probe_list:
        row.update(probe.columns(record.probe(probe.key)))
    if record.probe_errors:
        row["probe_errors"] = "; ".join(f"{name}: {error}" for name, error in record.probe_errors.items())
    return row


def _code(record: Record) -> str | None:
    """The code a record came from: rnnbench's version and its git commit, when known."""
    version = record.environment.get("rnnbench")
    commit = record.environment.get("git_commit")
    return (
        " ".join(
            part
            for part in (version, commit[:7] + ("+dirty" if "+dirty" in commit else "") if commit else None)
            if part
        )
        or None
    )


def label(frame: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Adds the labels every table and figure groups by, so that cells which differ in what
    decides their result are never averaged together (``names``: `setting_names` of each row):

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
        stated = names.loc[cells.index]
        differing = [c for c in _differing(stated, ("task.",)) if c != column]
        length = [column] if column in stated and stated[column].notna().all() else []
        for index in cells.index:
            setup[index] = _name(task, stated.loc[index], differing)
            experiment[index] = _name(setup[index], stated.loc[index], length)
    model = pd.Series(index=frame.index, dtype=object)
    setting = pd.Series("", index=frame.index, dtype=object)
    for (_, arch), cells in frame.assign(experiment=experiment).groupby(["experiment", "arch"], sort=False):
        stated = names.loc[cells.index]
        tuned = _tuned_columns(cells, stated)
        differing = [c for c in _differing(stated, ("run.", "arch.")) if c not in tuned]
        model[cells.index] = [_name(arch, stated.loc[index], differing) for index in cells.index]
        if tuned:
            setting[cells.index] = [_name("", stated.loc[index], tuned).strip() for index in cells.index]
    return select(frame.assign(setup=setup, experiment=experiment, model=model, setting=setting))


def _tuned_columns(cells: pd.DataFrame, stated: pd.DataFrame) -> list[str]:
    """The columns of the keys these cells' tuning grid varied (``lr`` -> ``run.lr``)."""
    keys = {key for listed in cells["tuned"].dropna() for key in listed.split(",") if key}
    columns = [f"{prefix}{key.removeprefix('arch.')}" for key in sorted(keys) for prefix in ("run.", "arch.")]
    return [column for column in columns if column in stated]


def select(frame: pd.DataFrame) -> pd.DataFrame:
    """Marks ``selected``: per experiment and model, the cells of the tuned setting with the
    best mean *validation* metric over the tuning seeds (test metrics never enter the choice,
    nor do confirmation seeds). A seed without a finite validation value (it diverged or
    failed) counts as the worst value its model reached in the experiment, so that a setting
    is never chosen on its surviving seeds alone. Without tuning every cell is selected."""
    selected = pd.Series(True, index=frame.index)
    for _, cells in frame.groupby(["experiment", "model"], sort=False):
        tuning = cells[~cells["confirmation"].astype(bool)]
        if tuning["setting"].nunique() < 2:
            continue
        scores = tuning[f"valid_{tuning['metric'].dropna().iloc[0]}"].astype(float)
        higher = bool(tuning["higher_is_better"].dropna().iloc[0])
        finite = scores[np.isfinite(scores)]
        worst = (finite.min() if higher else finite.max()) if len(finite) else np.nan
        means = scores.where(np.isfinite(scores), worst).groupby(tuning["setting"]).mean().dropna()
        settings = list(dict.fromkeys(tuning["setting"]))
        best = (means.idxmax() if higher else means.idxmin()) if len(means) else settings[0]
        selected[cells.index] = cells["setting"] == best
    return frame.assign(selected=selected)


def chosen(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells the tables and figures report: each model's selected setting, on its
    confirmation seeds when it has them (seeds that took no part in the selection), else on
    the seeds that selected it."""
    if "selected" not in frame:
        return frame
    picked = frame[frame["selected"]]
    confirmed = picked.groupby(["experiment", "model"], sort=False)["confirmation"].transform("any").astype(bool)
    return picked[~confirmed | picked["confirmation"].astype(bool)]


def _differing(stated: pd.DataFrame, prefixes: tuple[str, ...]) -> list[str]:
    """The settings (named by `setting_names`) on which these cells differ."""
    return [c for c in stated if c.startswith(prefixes) and stated[c].nunique() > 1]


def _name(base: str, stated: pd.Series, columns: list[str]) -> str:
    return " ".join([base, *(f"{column.split('.', 1)[1]}={stated[column]}" for column in columns)])


def value_name(value: Any) -> str:
    """A setting's value as labels show it; null and NaN are "none"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # T=100, not T=100.0 (pandas stores a column with gaps as floats)
    return str(value)
