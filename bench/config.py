"""Run settings, ``key=value`` overrides, and the cells a suite expands into.

One cell = one architecture x one task x one seed x one resolved configuration. Its id is
a hash of everything that decides its result, so the store can tell a finished cell from
a new one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.architecture import Architecture, sequence_method
from bench.budget import Match, build_on_meta, matched_hidden_size
from bench.errors import ConfigError, RnnbenchError, UnknownNameError, unknown_name
from bench.plugins import architectures, tasks
from bench.registry import Registry
from bench.task import Task

# Seeds are integers in [0, 2**32): what numpy's generators accept, so that every task
# plugin can seed its data from them.
SEED_LIMIT = 2**32


@dataclass(frozen=True)
class RunConfig:
    """Training and measurement settings. A task's ``train_defaults`` replace these
    defaults; ``--set key=value`` replaces both."""

    # model shape
    hidden_size: int = 128  # encoder state size per direction
    embed_size: int = 64  # input adapter output: embedding size, or projected features
    # optimisation
    batch_size: int = 64
    lr: float = 2e-3  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay; 0 is plain Adam
    clip: float = 1.0  # max global gradient norm; 0 disables clipping
    schedule: str = "constant"  # "constant", or "cosine" decay to 0 over the budget
    epochs: int = 1  # passes over the training set (when max_steps is 0)
    max_steps: int = 0  # step budget; 0 trains for `epochs` instead
    eval_every: int = 0  # steps between validations; 0 validates once per epoch
    # "fp32", or "bf16": forward passes under bfloat16 autocast (weights, optimizer and loss
    # stay float32). On CPUs with AMX it halves an LSTM training step (README, Speed).
    precision: str = "fp32"
    # length generalisation: after training, test again at these values of the task's length
    # option ("100,200,400"), on data generated at each length; "" tests at the trained length only
    eval_lengths: str = ""
    # measurement
    warmup_steps: int = 3  # first training steps left out of throughput (allocations, caches)
    probe_points: int = 4  # gradient profiles during training, besides the one at initialisation
    probe_batch: int = 64  # sequences per gradient profile (and per gate profile)
    # sequences for the Jacobian spectrum at initialisation and after training; 0: off (it
    # costs a backward pass per hidden unit and step: seconds per cell at probe sizes)
    jacobian_batch: int = 0
    # execution: recorded with the results, not part of a cell's identity
    device: str = "auto"  # "auto": CUDA when available, else CPU
    threads: int = 0  # CPU threads; 0: this process's share of the machine's cores

    EXECUTION = ("device", "threads")
    # Settings added after results were first stored: they enter a cell's identity only when
    # set away from their default, so cells computed before they existed keep their ids.
    ADDED_LATER = ("precision", "eval_lengths", "jacobian_batch")
    SCHEDULES = ("constant", "cosine")
    PRECISIONS = ("fp32", "bf16")

    def __post_init__(self) -> None:
        unset = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is None]
        if unset:
            raise ConfigError(f"invalid settings: {', '.join(unset)} must have a value, not none")
        problems = []
        for name in ("hidden_size", "embed_size", "batch_size", "epochs", "probe_batch"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "max_steps",
            "eval_every",
            "warmup_steps",
            "probe_points",
            "threads",
            "weight_decay",
            "clip",
            "jacobian_batch",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{f.name} must be a finite number, got {value}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if self.schedule not in self.SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(self.SCHEDULES)}, got {self.schedule!r}")
        if self.precision not in self.PRECISIONS:
            problems.append(f"precision must be one of {', '.join(self.PRECISIONS)}, got {self.precision!r}")
        try:
            self.eval_length_values()
        except ValueError:
            problems.append(f"eval_lengths must be positive integers separated by commas, got {self.eval_lengths!r}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            problems.append(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))

    def eval_length_values(self) -> list[int]:
        """``eval_lengths`` as integers (ValueError when malformed)."""
        values = [int(part) for part in self.eval_lengths.replace(" ", "").split(",") if part]
        if any(value < 1 for value in values) or len(set(values)) < len(values):
            raise ValueError(self.eval_lengths)
        return values

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(cls)}


def coerce(key: str, value: Any, default: Any) -> Any:
    """Convert an override to the type of its default. Strings come from the command line;
    typed values (Python API, sweep files) must already have the right type."""
    if isinstance(value, str):
        return _parse(key, value, default)
    if default is None or type(value) is type(default) or (value is None and type(default) is float):
        return value
    if type(default) is float and type(value) is int:
        return float(value)
    raise ConfigError(f"{key}={value!r}: expected {type(default).__name__} (default {default!r})")


def _parse(key: str, text: str, default: Any) -> Any:
    text = text.strip()
    if default is None:  # no type to follow: JSON when it parses (numbers, null), else text
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}={text!r}: expected true or false (default {default!r})")
    if isinstance(default, float) and text.lower() in ("none", "null"):
        return None  # a float option may be switched off (e.g. forget_bias=none: torch's default init)
    if isinstance(default, int | float):
        try:
            return type(default)(text)
        except ValueError:
            expected = "an integer" if isinstance(default, int) else "a number"
            raise ConfigError(f"{key}={text!r}: expected {expected} (default {default!r})") from None
    return text


def parse_assignments(assignments: Iterable[str], flag: str = "--set") -> dict[str, str]:
    """``["lr=1e-3", "T=100"]`` -> ``{"lr": "1e-3", "T": "100"}``; a key given twice is an
    error (which value was meant?)."""
    result = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r}: expected key=value, for example {flag} lr=1e-3")
        key = key.strip()
        if key in result:
            raise ConfigError(f"{flag} gives {key} twice ({key}={result[key]} and {key}={value}); keep one")
        result[key] = value
    return result


def check_seeds(seeds: Iterable[Any]) -> list[str]:
    """Problems with a list of seeds: non-integers, values out of range, repeats."""
    seeds = list(seeds)
    problems = [
        f"seed {seed!r} must be an integer in [0, {SEED_LIMIT})"
        for seed in seeds
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT
    ]
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1}, key=str)
    if repeated:
        problems.append(f"seed(s) {', '.join(map(str, repeated))} given more than once; each seed runs once")
    return problems


@dataclass(frozen=True)
class Cell:
    """One unit of work: its identity is everything that decides its result."""

    arch: str
    task: str
    seed: int
    run: RunConfig
    arch_options: Mapping[str, Any] = field(default_factory=dict)
    task_options: Mapping[str, Any] = field(default_factory=dict)
    # How the cell was planned, recorded with its result but not part of its identity: the
    # keys a tuning grid varies (reports select among their values), and the budget match
    # that chose its hidden size (the hidden size itself is in ``run``).
    tuned: tuple[str, ...] = ()
    match: str | None = None
    # Task options left out of the identity: the task's `added_later` options at their defaults.
    unidentified: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        defaults = RunConfig.defaults()
        run = {
            k: v
            for k, v in dataclasses.asdict(self.run).items()
            if k not in RunConfig.EXECUTION and not (k in RunConfig.ADDED_LATER and v == defaults[k])
        }
        return {
            "arch": self.arch,
            "task": self.task,
            "seed": self.seed,
            "run": run,
            "arch_options": dict(self.arch_options),
            "task_options": {k: v for k, v in self.task_options.items() if k not in self.unidentified},
        }

    @property
    def id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return f"{self.task}-{self.arch}-s{self.seed}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    def config(self) -> dict[str, Any]:
        """Everything, execution settings included, as recorded with the result."""
        return {**self.identity(), "run": dataclasses.asdict(self.run), "task_options": dict(self.task_options)}


def expand(
    arch_names: Iterable[str],
    task_names: Iterable[str],
    seeds: Iterable[int],
    overrides: Mapping[str, Any] | None = None,
    match: str | Match | None = None,
    tune: Mapping[str, Any] | None = None,
) -> list[Cell]:
    """All cells of architectures x tasks x seeds with ``overrides`` applied.

    A key may be prefixed ``arch.`` or ``task.`` to say where it goes; a plain key goes to
    every place that defines it (run settings, the selected architectures, the tasks). A key
    no selected place defines is an error.

    ``match`` (``"params=N"`` or ``"state=N"``) sets each architecture's hidden size to the
    one whose encoder parameters (or recurrent state) lie closest to N. ``tune`` maps run
    settings or architecture options to lists of values: every combination runs, and reports
    select per architecture the one with the best mean validation metric.
    """
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
    grid = tune_grid(tune or {}, overrides, match, problems)
    # An unknown name is one problem among the others: the settings are still checked
    # against the names that exist, so that one error lists everything to fix.
    archs = _lookup(architectures(), arch_names, problems)
    task_list = _lookup(tasks(), task_names, problems)
    known = _known(archs, task_list)
    problems += [str(unknown_name("setting", key, known)).split(" Known ")[0] for key in overrides if key not in known]
    problems += _untunable(grid[0], archs)
    suffix = _known_settings(known) if problems else ""
    tuned = tuple(grid[0])
    cells: dict[str, Cell] = {}  # by id: a tuned option an architecture lacks gives it one cell, not one per value
    for combination in grid:
        for cell in _cells(archs, task_list, seeds, {**overrides, **combination}, problems):
            cell = dataclasses.replace(cell, tuned=tuned, match=str(match) if match else None)
            cells.setdefault(cell.id, cell)
    if match and not problems:
        cells = {cell.id: cell for cell in _matched(list(cells.values()), match, problems)}
    if problems:
        raise ConfigError("; ".join(dict.fromkeys(problems)) + (f". {suffix}" if suffix else ""))
    return list(cells.values())


def tune_grid(
    tune: Mapping[str, Any], overrides: Mapping[str, Any], match: Match | None, problems: list[str]
) -> list[dict[str, Any]]:
    """Every combination of the tuned values (``[{}]`` when nothing is tuned). Values may be
    lists or comma-separated text (``"1e-3,2e-3"``, from the command line)."""
    values: dict[str, list[Any]] = {}
    for key, given in tune.items():
        listed = [v.strip() for v in given.split(",")] if isinstance(given, str) else given
        if not isinstance(listed, list | tuple) or not listed or any(v == "" for v in listed):
            problems.append(f"--tune {key}: expected a list of values, for example --tune {key}=1e-3,2e-3")
            continue
        if len({str(v) for v in listed}) < len(listed):
            problems.append(f"--tune {key}: a value is given twice in {list(listed)}")
        if key in overrides:
            problems.append(f"{key} is both set and tuned; drop one")
        values[key] = list(listed)
    if match and "hidden_size" in {*values, *overrides}:
        problems.append(f"--match {match} chooses the hidden size; do not set or tune hidden_size as well")
    return [dict(zip(values, combination, strict=True)) for combination in itertools.product(*values.values())]


def _untunable(combination: Mapping[str, Any], archs: list[Architecture]) -> list[str]:
    """Tuned keys that are not run settings or architecture options."""
    tunable = {k for k in RunConfig.defaults() if k not in RunConfig.EXECUTION}
    for arch in archs:
        tunable |= {*arch.defaults, *(f"arch.{k}" for k in arch.defaults)}
    return [
        f"--tune {key}: only run settings and architecture options are tuned (a task option changes the "
        f"experiment itself: run its values as a grid)"
        for key in combination
        if key not in tunable
    ]


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
        problems.extend(_eval_length_problems(task, task_options, run))
        unidentified = tuple(k for k in task.added_later if task_options[k] == task.defaults[k])
        # seeds outside architectures: consecutive cells share one prepared dataset
        for seed in seeds:
            for arch in archs:
                cells.append(
                    Cell(
                        arch.name,
                        task.name,
                        int(seed),
                        run,
                        arch_options[arch.name],
                        task_options,
                        unidentified=unidentified,
                    )
                )
    return cells


def _eval_length_problems(task: Task, options: Mapping[str, Any], run: RunConfig) -> list[str]:
    """eval_lengths needs a task with a length option, and valid options at every length."""
    lengths = run.eval_length_values()
    if lengths and task.length_option is None:
        return [f"eval_lengths: task '{task.name}' declares no length option to vary"]
    problems = []
    for length in lengths:
        problems.extend(task.check_options({**options, task.length_option: length}))
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


def _matched(cells: list[Cell], match: Match, problems: list[str]) -> list[Cell]:
    """The cells with each architecture's hidden size set to meet ``match``."""
    registry = architectures()
    hidden: dict[tuple, int | None] = {}
    matched = []
    for cell in cells:
        key = (cell.arch, cell.run.embed_size, json.dumps(dict(cell.arch_options), sort_keys=True, default=str))
        if key not in hidden:
            try:
                hidden[key] = matched_hidden_size(
                    registry.get(cell.arch), cell.run.embed_size, cell.arch_options, match
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
