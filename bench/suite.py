"""Run many cells: skip the finished ones, isolate failures, store each as it ends."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from bench import faults
from bench.cell import Cell
from bench.config import parse_assignments
from bench.errors import ConfigError
from bench.executors import Executor, ExecutorOptions, LocalExecutor, executor
from bench.planner import check_confirmation, confirmation_cells, expand
from bench.record import STATUSES
from bench.results import load, load_results
from bench.store import Store


def run(
    arch: str | Iterable[str],
    task: str | Iterable[str],
    seeds: int | Iterable[int] = (0,),
    overrides: Mapping[str, Any] | str | Sequence[str] | None = None,
    out: str | os.PathLike = "results/run",
    rerun: str | Iterable[str] = (),
    progress: bool = False,
    match: str | None = None,
    tune: Mapping[str, Any] | None = None,
    jobs: int = 1,
    track: str | Iterable[str] = (),
    confirm_seeds: Iterable[int] = (),
    unequal_tuning: bool = False,
) -> pd.DataFrame:
    """Run architectures x tasks x seeds and return every record of ``out`` as a DataFrame.

    ``overrides``: settings, as a mapping (``{"lr": 1e-3}``) or as the command line writes
    them (``"lr=1e-3"``, ``["lr=1e-3", "T=100"]``). ``rerun`` names stored statuses to compute
    again (``"error"``, ``"diverged"``, ``"ok"``, or ``"all"``); by default a stored cell is
    never redone. ``match`` (``"params=20000"`` or ``"state=128"``) gives every architecture
    the same budget; ``tune`` (``{"lr": [1e-3, 3e-3]}``) runs every value, and the frame's
    ``selected`` column marks, per architecture and experiment, the value with the best mean
    validation metric; ``confirm_seeds`` then runs each selected value again on those fresh
    seeds, and the tables report them. ``jobs``: cells at once on this machine. ``track``:
    trackers that follow each cell (``"tensorboard"``, ``"mlflow"``)."""
    seeds = [seeds] if isinstance(seeds, int) else seeds
    cells = expand(_names(arch), _names(task), seeds, _overrides(overrides), match, tune, unequal_tuning=unequal_tuning)
    options = ExecutorOptions(jobs=jobs, track=tuple(_names(track)), folder=Path(out))
    run_and_confirm(
        cells, Store(out), confirm_seeds, _names(rerun), progress=progress, executor=executor("local", options)
    )
    return load_results(out)


def run_and_confirm(
    cells: list[Cell],
    store: Store,
    confirm_seeds: Iterable[int] = (),
    rerun: Iterable[str] = (),
    progress: bool = False,
    executor: Executor | None = None,
) -> dict[str, int]:
    """Run the cells, then, with ``confirm_seeds``, each selected setting again on those fresh
    seeds (`bench.planner.confirmation_cells`); return the counts of both."""
    confirm_seeds = list(confirm_seeds)
    if confirm_seeds:
        check_confirmation(cells, confirm_seeds)  # before the tuning runs, not hours after
    counts = run_cells(cells, store, rerun=rerun, progress=progress, executor=executor)
    if confirm_seeds:
        confirming = confirmation_cells(cells, load(store.directory), confirm_seeds)
        print(f"confirming each selected setting on seeds {', '.join(map(str, confirm_seeds))}", file=sys.stderr)
        more = run_cells(confirming, store, rerun=rerun, progress=progress, executor=executor)
        counts = {key: counts[key] + more[key] for key in counts}
    return counts


def run_cells(
    cells: list[Cell],
    store: Store,
    rerun: Iterable[str] = (),
    progress: bool = False,
    executor: Executor | None = None,
) -> dict[str, int]:
    """Run what is not stored yet (and stored cells whose status is in ``rerun``); return
    counts of what happened."""
    rerun = rerun_statuses(rerun)
    executor = executor or LocalExecutor()
    executor.check(cells)
    store.ensure_writable()
    todo, kept = [], Counter()
    for cell in cells:
        record = store.get(cell.id)
        if record is not None and record.status not in rerun:
            kept[record.status] += 1
        else:
            todo.append(cell)
    if kept:
        done = sum(kept.values())
        unfinished = [f"{kept[status]} {status}" for status in STATUSES if status != "ok" and kept[status]]
        hint = f" ({', '.join(unfinished)}; --rerun STATUS computes those again)" if unfinished else ""
        print(f"{done} of {len(cells)} cells already in {store.directory}; skipping them{hint}", file=sys.stderr)
    counts = {"skipped": sum(kept.values()), "ok": 0, "diverged": 0, "error": 0}
    bar = tqdm(total=len(todo), desc="cells", unit="cell", disable=not progress)
    for record in executor.run(todo, progress):
        store.put(record)  # the moment the cell ends: an interruption loses only cells in flight
        faults.reach("between")
        counts[record.status] += 1
        bar.update(1)
        bar.set_postfix(ok=counts["ok"], diverged=counts["diverged"], failed=counts["error"])
        if record.status == "error":
            print(f"cell {record.id} failed: {record.error}", file=sys.stderr)
        for probe, error in record.probe_errors.items():
            print(f"cell {record.id}: probe '{probe}' failed: {error}", file=sys.stderr)
    bar.close()
    return counts


def rerun_statuses(rerun: str | Iterable[str]) -> set[str]:
    """The stored statuses to compute again; ``"all"`` means every one."""
    rerun = set(_names(rerun))
    unknown = rerun - {*STATUSES, "all"}
    if unknown:
        raise ConfigError(f"cannot rerun {', '.join(sorted(unknown))}: choose from {', '.join(STATUSES)} or all")
    return set(STATUSES) if "all" in rerun else rerun


def _names(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _overrides(value: Mapping[str, Any] | str | Sequence[str] | None) -> dict[str, Any]:
    """Overrides as a mapping; text as the command line writes it (``"lr=1e-3"``)."""
    if value is None or isinstance(value, Mapping):
        return dict(value or {})
    if isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value)):
        return parse_assignments(_names(value), "overrides")
    raise ConfigError(
        f"overrides must be a mapping such as {{'lr': 1e-3}} or text such as 'lr=1e-3', got {type(value).__name__}"
    )
