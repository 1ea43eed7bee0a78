"""Where does my architecture stand? `rnnbench standing ARCH` runs a standard suite (a sweep
file whose tasks, budgets, seeds, matching and tuning are fixed: examples/standing/) for that
architecture alone, beside the built-ins' records committed for the same suite, which it
reuses by cell id, so only the new cells run. The report then places the architecture with
the verdict statistics."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bench.cell import Cell
from bench.errors import ConfigError
from bench.results import Results
from bench.sweep import expand_sweep, read_sweep
from bench.tables import markdown

SUITES = Path(__file__).resolve().parent.parent / "examples" / "standing"
PUBLISHED = Path(__file__).resolve().parent.parent / "results" / "published"


def suite_path(suite: str) -> Path:
    """A suite by name (``quick``: examples/standing/quick.toml) or a path to a sweep file."""
    path = SUITES / f"{suite}.toml"
    if path.is_file():
        return path
    if Path(suite).is_file():
        return Path(suite)
    known = ", ".join(sorted(p.stem for p in SUITES.glob("*.toml")))
    raise ConfigError(f"no standing suite '{suite}': give one of {known}, or a sweep file's path")


def standing_cells(arch: str, suite: str, options: Mapping[str, Any]) -> tuple[str, list[Cell]]:
    """The suite's name and its cells for ``arch`` alone, with ``options`` for it."""
    spec = dict(read_sweep(suite_path(suite)))
    spec["architectures"] = [arch]
    if options:
        spec["arch"] = {arch: {"set": dict(options)}}
    return spec.get("name", suite), expand_sweep(spec, f"standing suite '{suite}'")


def copy_references(name: str, out: Path) -> int:
    """The committed records of the suite (results/published/<name>) copied into ``out``,
    where they are missing; returns how many were copied."""
    source = PUBLISHED / name / "cells"
    target = out / "cells"
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(source.glob("*.json")):
        if not (target / path.name).exists():
            shutil.copy2(path, target / path.name)
            copied += 1
    return copied


def standing_table(results: Results, arch: str) -> pd.DataFrame:
    """Per experiment: where ``arch`` stands among the models (its place in the leaderboard's
    order, best first), its verdict against the best, and the best."""
    rows = []
    for experiment in results.verdicts:
        models = list(experiment.seeds)
        mine = [m for m in models if m == arch or m.startswith(f"{arch} ")]
        for model in mine:
            verdict, p = experiment.verdicts[model]
            rows.append(
                {
                    "experiment": experiment.name,
                    "arch": model,
                    "place": f"{models.index(model) + 1} of {len(models)}",
                    "verdict": verdict,
                    "p vs best (Holm)": p,
                    "best": experiment.best or "–",
                }
            )
    return pd.DataFrame(rows)


def print_standing(results: Results, arch: str) -> None:
    table = standing_table(results, arch)
    print(f"\nWhere {arch} stands (its place in each leaderboard, best first, and its verdict):\n")
    print(markdown(table) if not table.empty else "(no record of it)")
