"""Sweep files: architectures x tasks x seeds x grids of settings, in TOML.

    name = "probes"                       # results/<name> unless --out says otherwise
    architectures = ["rnn", "gru", "lstm"]
    tasks = ["adding"]
    seeds = 3                             # a count (0, 1, 2) or a list [0, 5]
    match = "params=20000"                # equal budgets: see --match; a list
                                          # (["state=64", "state=256"]) runs each budget
    confirm_seeds = [5, 6, 7]             # each selected setting again on fresh seeds (--confirm-seeds)
    unequal_tuning = false                # true accepts unequal tuning budgets (--unequal-tuning)
    # (top-level keys come before the first [table]: TOML reads later keys into that table)

    [set]                                 # every cell, like --set
    max_steps = 3000

    [grid]                                # every combination, for every cell
    hidden_size = [64, 128]

    [task.adding.grid]                    # only for one task (also [task.NAME.set])
    T = [50, 100, 200]

    [arch.lstm.set]                       # only for one architecture (also [arch.NAME.grid])
    forget_bias = 0.0

    [tune]                                # every value runs; reports select per architecture
    lr = [1e-3, 3e-3]                     # the best mean validation metric (see --tune)

The whole file is checked before the first cell starts; every problem is listed at once.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cell import Cell
from bench.config import check_seeds
from bench.errors import ConfigError, RnnbenchError
from bench.planner import check_confirmation, expand, settings_problems, tuning_budgets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_LEVEL = {
    "name", "architectures", "tasks", "seeds", "set", "grid", "arch", "task", "match", "tune", "confirm_seeds",
    "unequal_tuning",
}  # fmt: skip


@dataclass
class Sweep:
    name: str
    cells: list[Cell]
    confirm_seeds: list[int] = field(default_factory=list)


def load_sweep(path: str | os.PathLike) -> Sweep:
    path = Path(path)
    spec = read_sweep(path)
    cells = expand_sweep(spec, str(path))
    confirm_seeds = spec.get("confirm_seeds", [])
    if confirm_seeds:
        check_confirmation(cells, confirm_seeds if isinstance(confirm_seeds, list) else [confirm_seeds])
    return Sweep(spec.get("name") or path.stem, cells, confirm_seeds)


def read_sweep(path: Path) -> dict[str, Any]:
    """A sweep file's TOML, or one ConfigError that says why it cannot be read."""
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sweep file {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder; give the sweep's .toml file (examples/probes.toml, say)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file; a sweep file is TOML (see examples/probes.toml)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return spec


def expand_sweep(spec: Mapping[str, Any], source: str = "sweep") -> list[Cell]:
    """Every cell of the sweep, or one ConfigError that lists every problem found."""
    problems: list[str] = []
    for key in spec:
        if key not in TOP_LEVEL:
            problems.append(f"unknown key '{key}' (expected {', '.join(sorted(TOP_LEVEL))})")
    archs = _names(spec, "architectures", problems)
    task_names = _names(spec, "tasks", problems)
    seeds = _seeds(spec.get("seeds", 1), problems) or [0]  # [0]: go on checking the rest
    for section, known, noun in (("arch", archs, "architectures"), ("task", task_names, "tasks")):
        for name in _table(spec, section, problems):
            if name not in known:
                problems.append(f"[{section}.{name}]: '{name}' is not in the sweep's {noun}")
    matches = spec.get("match")
    matches = [matches] if matches is None or isinstance(matches, str) else matches
    if not isinstance(matches, list) or not matches or not all(isinstance(m, str | None) for m in matches):
        problems.append(f"'match' must be a string such as \"params=20000\", or a list of them, got {matches!r}")
        matches = [None]
    tune = _table(spec, "tune", problems)
    unequal = spec.get("unequal_tuning", False)
    if not isinstance(unequal, bool):
        problems.append(f"'unequal_tuning' must be true or false, got {unequal!r}")
    if not archs:  # the architectures are malformed: still check what can be checked without them
        for task in task_names:
            for overrides in _merge(spec, ("", f"task.{task}."), problems):
                problems.extend(f"{task}: {problem}" for problem in settings_problems([task], overrides))
    cells: list[Cell] = []
    for task in task_names:
        for arch in archs:
            for overrides in _merge(spec, ("", f"task.{task}.", f"arch.{arch}."), problems):
                try:
                    for match in matches:
                        cells.extend(expand([arch], [task], seeds, overrides, match, tune, unequal_tuning=True))
                except RnnbenchError as exc:
                    problems.append(f"{arch} x {task}: {exc}")
    if unequal is not True:  # the budgets compare across the sweep's architectures, so here
        problems += tuning_budgets(cells)
    problems = list(dict.fromkeys(problems))  # one line per distinct problem
    if problems:
        raise ConfigError(f"{source} has {len(problems)} problem(s); nothing was run:\n  - " + "\n  - ".join(problems))
    unique = {cell.id: cell for cell in cells}  # the same cell reached twice runs once
    return list(unique.values())


def _names(spec: Mapping[str, Any], key: str, problems: list[str]) -> list[str]:
    value = spec.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(f"'{key}' must be a non-empty list of names, got {value!r}")
        return []
    return value


def _seeds(value: Any, problems: list[str]) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(value))
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        found = check_seeds(value)
        problems.extend(f"'seeds': {problem}" for problem in found)
        return [] if found else value
    problems.append(f"'seeds' must be a count >= 1 or a list of integers, got {value!r}")
    return []


def _table(spec: Mapping[str, Any], path: str, problems: list[str]) -> Mapping[str, Any]:
    node: Any = spec
    for part in path.split("."):
        node = node.get(part, {}) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        problems.append(f"[{path}] must be a table")
        return {}
    return node


def _merge(spec: Mapping[str, Any], prefixes: tuple[str, ...], problems: list[str]) -> list[dict[str, Any]]:
    """The override sets of one (architecture, task): the union of their `set` tables, times
    the product of their `grid` tables."""
    fixed: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    for prefix in prefixes:
        fixed.update(_table(spec, f"{prefix}set", problems))
        for key, values in _table(spec, f"{prefix}grid", problems).items():
            if not isinstance(values, list) or not values:
                problems.append(f"[{prefix}grid] {key} must be a non-empty list, got {values!r}")
                continue
            grid[key] = values
    combinations = itertools.product(*grid.values()) if grid else [()]
    return [{**fixed, **dict(zip(grid, combo, strict=True))} for combo in combinations]
