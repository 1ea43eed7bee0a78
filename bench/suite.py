"""Run many cells: skip the finished ones, isolate failures, store each as it ends."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from bench.config import Cell, expand
from bench.errors import ConfigError, DataError
from bench.report import load_results
from bench.runner import run_cell
from bench.store import FINISHED, Store
from bench.task import Task, TaskData


def run(
    arch: str | Iterable[str],
    task: str | Iterable[str],
    seeds: int | Iterable[int] = (0,),
    overrides: Mapping[str, Any] | None = None,
    out: str | os.PathLike = "results/run",
    retry_failed: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Run architectures x tasks x seeds and return every record of ``out`` as a DataFrame."""
    cells = expand(_names(arch), _names(task), [seeds] if isinstance(seeds, int) else seeds, overrides)
    run_cells(cells, Store(out), retry_failed=retry_failed, progress=progress)
    return load_results(out)


def run_cells(cells: list[Cell], store: Store, retry_failed: bool = False, progress: bool = False) -> dict[str, int]:
    """Run what is not finished yet; return counts of what happened."""
    store.ensure_writable()
    todo, done, kept_failures = [], 0, 0
    for cell in cells:
        record = store.get(cell.id)
        if record is not None and (record["status"] in FINISHED or not retry_failed):
            done += 1
            kept_failures += record["status"] not in FINISHED
        else:
            todo.append(cell)
    if done:
        retry = f" ({kept_failures} of them failed; --retry-failed reruns those)" if kept_failures else ""
        print(f"{done} of {len(cells)} cells already in {store.directory}; skipping them{retry}", file=sys.stderr)
    counts = {"skipped": done, "ok": 0, "diverged": 0, "error": 0}
    data = DataCache()
    for cell in tqdm(todo, desc="cells", disable=not progress):
        try:
            record = run_cell(cell, data_source=data.get, progress=progress)
        except (ConfigError, DataError):
            raise  # the user's input is wrong: every other cell would fail the same way
        except Exception as exc:  # a plugin's bug or a numerical failure: record it, go on
            record = {
                "id": cell.id,
                "status": "error",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "arch": cell.arch,
                "task": cell.task,
                "seed": cell.seed,
                "config": cell.config(),
            }
            print(f"cell {cell.id} failed: {record['error']}", file=sys.stderr)
        store.put(record)
        counts[record["status"]] += 1
    return counts


class DataCache:
    """Keeps the last prepared dataset: cells are ordered so that consecutive ones share it."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.data: TaskData | None = None

    def get(self, task: Task, options: dict, seed: int) -> TaskData:
        key = (task.name, tuple(sorted(options.items())), seed)
        if key != self.key:
            self.key, self.data = None, None  # free the old data before preparing the new
            self.data, self.key = task.prepare(options, seed), key
        return self.data


def _names(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
