"""The planner: architectures x tasks x seeds x overrides (x a tuning grid, with a budget
match) -> the cells to run, every setting checked before any cell starts.

`expand` takes the registries it plans from as arguments (the registered plugins' by
default), so that one run, a sweep, a horizon and a test all plan the same way. Everything
wrong with a plan is collected and raised as one `ConfigError` that lists it all.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import warnings
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from bench.architecture import Architecture, sequence_method
from bench.block import block_problems
from bench.budget import Match, build_on_meta, matched_hidden_size
from bench.cell import Cell
from bench.config import RunConfig, check_seeds, coerce
from bench.errors import ConfigError, RnnbenchError, UnknownNameError, unknown_name
from bench.plugins import architectures, tasks
from bench.registry import Registry
from bench.results import Results
from bench.task import Task

# How alike a setting must be to a known one to be called its typo when the names of a run
# are misspelt too (hiden_size -> hidden_size: 0.95; train_size -> hidden_size: 0.67).
TYPO = 0.85


def expand(
    arch_names: Iterable[str],
    task_names: Iterable[str],
    seeds: Iterable[int],
    overrides: Mapping[str, Any] | None = None,
    match: str | Match | None = None,
    tune: Mapping[str, Any] | None = None,
    *,
    arch_registry: Registry[Architecture] | None = None,
    task_registry: Registry[Task] | None = None,
    unequal_tuning: bool = False,
) -> list[Cell]:
    """All cells of architectures x tasks x seeds with ``overrides`` applied.

    A key may be prefixed ``arch.`` or ``task.`` to say where it goes; a plain key goes to
    every place that defines it (run settings, the selected architectures, the tasks). A key
    no selected place defines is an error.

    ``match`` (``"params=N"`` or ``"state=N"``) sets each architecture's hidden size to the
    one whose encoder parameters (or recurrent state) lie closest to N. ``tune`` maps run
    settings or architecture options to lists of values: every combination runs, and reports
    select per architecture the one with the best mean validation metric.

    ``arch_registry``, ``task_registry``: where names are looked up (the registered plugins
    by default). Every architecture must get as many tuned settings as every other (a tuned
    option only some of them have gives the others one), unless ``unequal_tuning``.
    """
    arch_registry = architectures() if arch_registry is None else arch_registry
    task_registry = tasks() if task_registry is None else task_registry
    arch_names, task_names, seeds = list(arch_names), list(task_names), list(seeds)
    if not arch_names or not task_names or not seeds:
        raise ConfigError("a run needs at least one architecture, one task and one seed")
    overrides = dict(overrides or {})
    problems = check_seeds(seeds)
    try:
        match = Match.parse(match)
    except ConfigError as exc:
        problems.append(str(exc))
        match = None
    # An unknown name is one problem among the others: the settings are still checked
    # against the names that exist, so that one error lists everything to fix.
    archs = _lookup(arch_registry, arch_names, problems)
    task_list = _lookup(task_registry, task_names, problems)
    names_known = len(archs) == len(arch_names) and len(task_list) == len(task_names)
    known = _known(archs, task_list)
    unknown = [key for key in overrides if key not in known]
    if not names_known:
        # A setting of the misspelt architecture or task is not "unknown": name only the
        # near-certain typos of a setting that exists.
        unknown = [key for key in unknown if difflib.get_close_matches(key, known, n=1, cutoff=TYPO)]
    problems += [str(unknown_name("setting", key, known)).split(" Known ")[0] for key in unknown]
    task_options = {key for task in task_list for key in (*task.defaults, *(f"task.{k}" for k in task.defaults))}
    grid = tune_grid(tune or {}, overrides, match, archs, problems, names_known, task_options)
    _warn_partial(overrides, archs, task_list)
    suffix = _known_settings(known) if unknown else ""
    tuned = tuple(grid[0])
    cells: dict[str, Cell] = {}  # by id: a tuned option an architecture lacks gives it one cell, not one per value
    for combination in grid:
        for cell in _cells(archs, task_list, seeds, {**overrides, **combination}, problems):
            cell = dataclasses.replace(cell, tuned=tuned, match=str(match) if match else None)
            cells.setdefault(cell.id, cell)
    if match and not problems:
        cells = {cell.id: cell for cell in _matched(list(cells.values()), match, arch_registry, problems)}
    if not unequal_tuning:
        problems += tuning_budgets(list(cells.values()))
    if problems:
        raise ConfigError("; ".join(dict.fromkeys(problems)) + (f". {suffix}" if suffix else ""))
    return list(cells.values())


class PartialSetting(UserWarning):
    """A plain ``--set`` key that only some of a run's architectures have as an option."""


def _warn_partial(overrides: Mapping[str, Any], archs: list[Architecture], task_list: list[Task]) -> None:
    """Say which architectures a plain architecture option goes to, when not all have it:
    ``--set dropout=0.1`` gives dropout to the built-ins and none to a plugin without it."""
    elsewhere = set(RunConfig.defaults()) | {key for task in task_list for key in task.defaults}
    for key in overrides:
        if "." in key or key in elsewhere:
            continue
        having = [arch.name for arch in archs if key in arch.defaults]
        lacking = [arch.name for arch in archs if key not in arch.defaults]
        if having and lacking:
            warnings.warn(
                f"{key} is an option of {', '.join(having)} only; {', '.join(lacking)} run(s) without it "
                f"(prefix arch.{key} to say it is meant so)",
                PartialSetting,
                stacklevel=3,
            )


def tuning_budgets(cells: list[Cell]) -> list[str]:
    """Unequal tuning budgets: an architecture that gets fewer tuned settings than another in
    the same experiment (same task, task options and seed) is compared at a disadvantage."""
    counts: dict[tuple, dict[str, int]] = {}
    for cell in cells:
        if cell.tuned:
            experiment = (cell.task, json.dumps(dict(cell.task_options), sort_keys=True, default=str), cell.seed)
            per_arch = counts.setdefault(experiment, {})
            per_arch[cell.arch] = per_arch.get(cell.arch, 0) + 1
    problems = []
    for (task, _, _), per_arch in counts.items():
        if len(set(per_arch.values())) > 1:
            listed = ", ".join(f"{arch} {count}" for arch, count in sorted(per_arch.items()))
            problems.append(
                f"unequal tuning budgets on {task}: settings tried per architecture: {listed} (a tuned option only "
                f"some architectures have gives the others one value); tune what they all have, or accept it with "
                f"--unequal-tuning"
            )
    return list(dict.fromkeys(problems))


def confirmation_cells(
    tuning: list[Cell],
    results: Results,
    seeds: Iterable[int],
    arch_registry: Registry[Architecture] | None = None,
    task_registry: Registry[Task] | None = None,
) -> list[Cell]:
    """Each selected setting of the ``tuning`` cells again, on ``seeds`` (fresh seeds, none of
    the tuning's): the cells that confirm the selection. ``results`` holds the tuning's
    records, from which each model's selection is read (on validation only)."""
    arch_registry = architectures() if arch_registry is None else arch_registry
    task_registry = tasks() if task_registry is None else task_registry
    seeds = list(seeds)
    check_confirmation(tuning, seeds)
    planned = {cell.id: cell for cell in tuning}
    frame = results.frame
    selected = frame[frame["id"].isin(planned) & frame["selected"] & ~frame["confirmation"].astype(bool)]
    cells = []
    for _, group in selected.groupby(["experiment", "model"], sort=False):
        model = planned[group["id"].iloc[0]]  # one cell of the selected setting: its settings, another seed
        arch, task = arch_registry.get(model.arch), task_registry.get(model.task)
        for seed in seeds:
            cell = Cell.of(arch, task, seed, model.run, model.arch_options, model.task_options)
            cells.append(dataclasses.replace(cell, tuned=model.tuned, match=model.match, confirmation=True))
    return cells


def check_confirmation(tuning: list[Cell], seeds: list[int]) -> None:
    """Before anything runs: confirmation seeds are valid, fresh, and have a tuning to confirm."""
    problems = [f"confirmation {problem}" for problem in check_seeds(seeds)]
    used = sorted({cell.seed for cell in tuning} & set(seeds))
    if used:
        problems.append(f"confirmation seeds {', '.join(map(str, used))} also tune the setting; give fresh seeds")
    if not any(cell.tuned for cell in tuning):
        problems.append("confirmation seeds confirm a tuned setting: tune something (--tune KEY=V1,V2)")
    if problems:
        raise ConfigError("; ".join(problems))


def settings_problems(
    task_names: Iterable[str], overrides: Mapping[str, Any], task_registry: Registry[Task] | None = None
) -> list[str]:
    """What is wrong with ``overrides`` as far as it can be told without the architectures
    (a sweep whose architectures are malformed still has its settings checked): run
    settings and the tasks' options, and typos of either."""
    task_registry = tasks() if task_registry is None else task_registry
    problems: list[str] = []
    task_list = _lookup(task_registry, list(task_names), problems)
    known = _known([], task_list)
    plain = {k: v for k, v in overrides.items() if not k.startswith("arch.")}
    typos = [k for k in plain if k not in known and difflib.get_close_matches(k, known, n=1, cutoff=TYPO)]
    problems += [str(unknown_name("setting", key, known)).split(" Known ")[0] for key in typos]
    run_keys = RunConfig.defaults()
    run_overrides = _coerced({k: v for k, v in plain.items() if k in run_keys}, run_keys, problems)
    for task in task_list:
        options = _coerced(_pick(plain, task.defaults, "task."), task.defaults, problems)
        problems.extend(task.check_options(task.resolve_options(options)))
        _run_config(run_overrides, task.train_defaults, problems)
    return list(dict.fromkeys(problems))


def tune_grid(
    tune: Mapping[str, Any],
    overrides: Mapping[str, Any],
    match: Match | None,
    archs: list[Architecture],
    problems: list[str],
    names_known: bool = True,
    task_options: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Every combination of the tuned values (``[{}]`` when nothing is tuned). Values may be
    lists or comma-separated text (``"1e-3,2e-3"``, from the command line). ``task_options``:
    the selected tasks' options, which a grid may not vary."""
    tunable = _tunable(archs)
    values: dict[str, list[Any]] = {}
    for key, given in tune.items():
        listed = [v.strip() for v in given.split(",")] if isinstance(given, str) else given
        if not isinstance(listed, list | tuple) or not listed or any(v == "" for v in listed):
            problems.append(f"--tune {key}: expected a list of values, for example --tune {key}=1e-3,2e-3")
            continue
        if key in RunConfig.EXECUTION:
            problems.append(
                f"--tune {key}: {key} says where a cell runs, not what it computes; set it once with --set {key}=..."
            )
            continue
        if key in task_options or key.startswith("task."):
            problems.append(
                f"--tune {key}: {key} is a task option, which changes the experiment itself, not a model's setting: "
                f"run its values as a grid (several --set runs, or a sweep file's [grid])"
            )
            continue
        if key not in tunable:
            if names_known:
                problems.append(_untunable(key, tunable, archs))
            continue
        typed = _typed(key, listed, tunable[key], problems)
        if typed is not None and len(set(map(_comparable, typed))) < len(typed):
            problems.append(f"--tune {key}: a value is given twice in {list(listed)} (equal as numbers)")
        if key in overrides:
            problems.append(f"{key} is both set and tuned; drop one")
        values[key] = list(listed)
    if match and "hidden_size" in {*values, *overrides}:
        problems.append(f"--match {match} chooses the hidden size; do not set or tune hidden_size as well")
    return [dict(zip(values, combination, strict=True)) for combination in itertools.product(*values.values())]


def _tunable(archs: list[Architecture]) -> dict[str, Any]:
    """What a grid may vary, with each key's default: run settings (not where a cell runs)
    and the selected architectures' options."""
    tunable = {k: v for k, v in RunConfig.defaults().items() if k not in RunConfig.EXECUTION}
    for arch in archs:
        for key, default in arch.defaults.items():
            tunable.setdefault(key, default)
            tunable.setdefault(f"arch.{key}", default)
    return tunable


def _untunable(key: str, tunable: Mapping[str, Any], archs: list[Architecture]) -> str:
    """Why ``key`` cannot be tuned: it is nothing a run knows (with the closest that is)."""
    error = unknown_name("setting to tune", key, tunable)
    names = ", ".join(arch.name for arch in archs) or "the architectures"
    return f"--tune {key}: {str(error).split(' Known ')[0]} Tunable: run settings and the options of {names}"


def _typed(key: str, listed: list[Any], default: Any, problems: list[str]) -> list[Any] | None:
    """The tuned values in their default's type (None when one does not convert)."""
    try:
        return [coerce(key, value, default) for value in listed]
    except ConfigError as exc:
        problems.append(str(exc))
        return None


def _comparable(value: Any) -> Any:
    """Equal numbers compare equal (0.001 and 1e-3); NaN equals NaN here."""
    return "nan" if isinstance(value, float) and value != value else value


def _known(archs: list[Architecture], task_list: list[Task]) -> set[str]:
    known = set(RunConfig.defaults())
    for arch in archs:
        known |= {*arch.defaults, *(f"arch.{k}" for k in arch.defaults)}
    for task in task_list:
        known |= {*task.defaults, *(f"task.{k}" for k in task.defaults)}
    return known


def _cells(
    archs: list[Architecture],
    task_list: list[Task],
    seeds: list[int],
    overrides: Mapping[str, Any],
    problems: list[str],
) -> list[Cell]:
    """The cells of one set of overrides; what is wrong goes to ``problems``."""
    run_keys = RunConfig.defaults()
    arch_options = {
        arch.name: arch.resolve_options(_coerced(_pick(overrides, arch.defaults, "arch."), arch.defaults, problems))
        for arch in archs
    }
    for arch in archs:
        problems.extend(f"{arch.name}: {problem}" for problem in arch.check_options(arch_options[arch.name]))
    run_overrides = _coerced({k: v for k, v in overrides.items() if k in run_keys}, run_keys, problems)
    if not task_list:  # no task to take training defaults from: check the run settings alone
        _run_config(run_overrides, {}, problems)
    cells = []
    for task in task_list:
        task_options = task.resolve_options(_coerced(_pick(overrides, task.defaults, "task."), task.defaults, problems))
        problems.extend(task.check_options(task_options))
        run = _run_config(run_overrides, task.train_defaults, problems)
        if run is None:
            continue
        if task.outputs == "sequence":
            problems.extend(_without_sequence(archs, arch_options, task, run))
        for arch in archs:
            problems.extend(block_problems(arch, run.hidden_size, arch_options[arch.name], run.block))
        problems.extend(_eval_length_problems(task, task_options, run))
        # seeds outside architectures: consecutive cells share one prepared dataset
        for seed in seeds:
            for arch in archs:
                cells.append(Cell.of(arch, task, seed, run, arch_options[arch.name], task_options))
    return cells


def _eval_length_problems(task: Task, options: Mapping[str, Any], run: RunConfig) -> list[str]:
    """eval_lengths needs a task with a length option, and valid options at every length."""
    lengths = run.eval_length_values()
    if lengths and task.length_option is None:
        return [f"eval_lengths: task '{task.name}' declares no length option to vary"]
    problems = []
    for length in lengths:
        problems.extend(
            f"eval_lengths={length}: {problem}"
            for problem in task.check_options({**options, task.length_option: length})
        )
    return problems


def _without_sequence(
    archs: list[Architecture], arch_options: Mapping[str, Mapping[str, Any]], task: Task, run: RunConfig
) -> list[str]:
    """Architectures whose encoders cannot give the per-position outputs ``task`` reads."""
    missing = []
    for arch in archs:
        encoder = build_on_meta(arch, run.embed_size, run.hidden_size, arch_options[arch.name])
        if sequence_method(encoder) is None:
            missing.append(
                f"architecture '{arch.name}' has no sequence() method, and task '{task.name}' reads an output at "
                f"every position: add encoder.sequence(x, lengths) -> float[B, T, output_size] (docs/plugins.md)"
            )
    return missing


def _matched(cells: list[Cell], match: Match, arch_registry: Registry[Architecture], problems: list[str]) -> list[Cell]:
    """The cells with each architecture's hidden size set to meet ``match``."""
    hidden: dict[tuple, int | None] = {}
    matched = []
    for cell in cells:
        run = cell.run
        key = (cell.arch, run.embed_size, run.block, run.blocks, json.dumps(dict(cell.arch_options), sort_keys=True))
        if key not in hidden:
            try:
                hidden[key] = matched_hidden_size(
                    arch_registry.get(cell.arch), run.embed_size, cell.arch_options, match, run.block, run.blocks
                )
            except RnnbenchError as exc:
                problems.append(str(exc))
                hidden[key] = None
        if hidden[key] is not None:
            matched.append(dataclasses.replace(cell, run=dataclasses.replace(cell.run, hidden_size=hidden[key])))
    return matched


def _run_config(
    overrides: Mapping[str, Any], task_defaults: Mapping[str, Any], problems: list[str]
) -> RunConfig | None:
    """The run settings of one task's cells; None (and the reason in ``problems``) if invalid."""
    try:
        return RunConfig(**{**RunConfig.defaults(), **task_defaults, **overrides})
    except ConfigError as exc:
        problems.append(str(exc))
        return None


def _lookup(registry: Registry, names: list[str], problems: list[str]) -> list[Any]:
    found = []
    for name in names:
        try:
            found.append(registry.get(name))
        except UnknownNameError as exc:
            problems.append(str(exc))
    return found


def _coerced(values: Mapping[str, Any], defaults: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """``values`` converted to their defaults' types; failures go to ``problems``."""
    result = {}
    for key, value in values.items():
        try:
            result[key] = coerce(key, value, defaults[key])
        except ConfigError as exc:
            problems.append(str(exc))
    return result


def _known_settings(known: set[str]) -> str:
    return "Known settings: " + ", ".join(sorted(k for k in known if "." not in k)) + "."


def _pick(overrides: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The overrides that apply to one architecture or task (plain or prefixed keys)."""
    picked = {}
    for key, value in overrides.items():
        name = key.removeprefix(prefix)
        if name in defaults and (key == name or key.startswith(prefix)):
            picked[name] = value
    return picked
