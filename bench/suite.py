"""Run many cells: skip the finished ones, isolate failures, store each as it ends."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from bench.config import Cell, expand
from bench.executors import LocalExecutor, RayExecutor
from bench.report import load_results
from bench.store import FINISHED, Store


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


def run_cells(
    cells: list[Cell],
    store: Store,
    retry_failed: bool = False,
    progress: bool = False,
    executor: LocalExecutor | RayExecutor | None = None,
) -> dict[str, int]:
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
    bar = tqdm(total=len(todo), desc="cells", unit="cell", disable=not progress)
    for record in (executor or LocalExecutor()).run(todo, progress):
        store.put(record)  # the moment the cell ends: an interruption loses only cells in flight
        counts[record["status"]] += 1
        bar.update(1)
        bar.set_postfix(ok=counts["ok"], diverged=counts["diverged"], failed=counts["error"])
        if record["status"] == "error":
            print(f"cell {record['id']} failed: {record['error']}", file=sys.stderr)
    bar.close()
    return counts


def _names(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
