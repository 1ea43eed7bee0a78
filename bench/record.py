"""The record of one cell: its typed definition, its format version, its validation, and
`upgrade()` from every earlier format. Every writer and reader goes through this module.

Three statuses share one definition:

- ``ok``: the cell trained and was tested;
- ``diverged``: its loss or gradient became NaN or infinite; a result like any other
  (``error`` says where it happened), tested with its best weights before that;
- ``error``: a plugin raised, or a numerical failure stopped the cell; ``error`` and
  ``traceback`` say what happened, and the measured parts are empty.

Formats:

- 1 (no ``format`` field): the records of rnnbench 0.1 before this module. The headline
  metric was a name (``metric``, ``higher_is_better``), probes were top-level keys
  (``gradients``, ``gates``, ``jacobian``, ``trajectory``), ``plugins`` held plugin names.
- 2: ``format``; ``metrics`` declares each metric (`bench.metrics.Metric`); ``probes``
  holds every probe's measurements by its record key, and ``probe_errors`` each failed
  probe's error; ``plugins`` names each plugin's distribution and version; ``finished``
  is when the cell ended (UTC, ISO 8601); ``confirmation`` marks a fresh seed of a selected
  setting; ``seeded_data`` says whether the task's data depend only on the seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.metrics import Metric, legacy_metric

FORMAT = 2
STATUSES = ("ok", "diverged", "error")
MEASURED = ("ok", "diverged")  # statuses whose records hold measurements
NOT_INSTALLED = "not installed"  # the distribution of a plugin registered at run time (a notebook)
LEGACY_PROBES = ("gradients", "gates", "jacobian", "trajectory")  # format 1's top-level probe keys
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class RecordError(ValueError):
    """What makes a JSON value not a valid record (the message says what, and where)."""


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin came from: its registered name, its distribution and that
    distribution's version (``NOT_INSTALLED`` and None for a plugin registered at run time;
    None and None in format-1 records, which did not say)."""

    name: str
    distribution: str | None = None
    version: str | None = None


@dataclass
class Record:
    """One cell's result. See the module's docstring for what each status holds."""

    id: str
    status: str
    arch: str
    task: str
    seed: int
    config: dict[str, Any]  # arch, task, seed, run, arch_options, task_options
    error: str | None = None
    traceback: str | None = None
    plugins: dict[str, PluginSource] = field(default_factory=dict)  # "arch", "task"
    metrics: tuple[Metric, ...] = ()  # headline first
    length_option: str | None = None
    chance: float | None = None
    solved_threshold: float | None = None
    solved: bool | None = None
    test: dict[str, float] = field(default_factory=dict)
    test_at_length: dict[str, dict[str, float]] = field(default_factory=dict)
    valid: dict[str, float] = field(default_factory=dict)
    best_step: int | None = None
    steps: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    probes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    probe_errors: dict[str, str] = field(default_factory=dict)
    throughput: dict[str, float | None] = field(default_factory=dict)
    params: int | None = None
    encoder_params: int | None = None
    state_size: int | None = None
    tuned: list[str] = field(default_factory=list)
    match: str | None = None
    confirmation: bool = False  # a fresh seed of a selected setting, not one of those that selected it
    seeded_data: bool = True  # the task's data depend only on its options and the seed (tests pair by seed)
    data: dict[str, Any] = field(default_factory=dict)
    train_seconds: float | None = None
    probe_seconds: float | None = None
    eval_seconds: float | None = None
    wall_seconds: float | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    finished: str | None = None
    format: int = FORMAT

    # --- what readers ask of a record ---------------------------------------------------

    @property
    def metric(self) -> Metric | None:
        """The headline metric's declaration (None for an error record of format 1)."""
        return self.metrics[0] if self.metrics else None

    @property
    def run(self) -> dict[str, Any]:
        return self.config["run"]

    @property
    def arch_options(self) -> dict[str, Any]:
        return self.config["arch_options"]

    @property
    def task_options(self) -> dict[str, Any]:
        return self.config["task_options"]

    @property
    def length(self) -> Any:
        """The value of the task's length option in this cell (None without one)."""
        return self.task_options.get(self.length_option) if self.length_option else None

    @property
    def measured(self) -> bool:
        return self.status in MEASURED

    def probe(self, key: str) -> list[dict[str, Any]]:
        """A probe's measurements (empty when it did not run)."""
        return self.probes.get(key) or []

    # --- JSON ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The record as strict JSON (non-finite floats as strings, as `to_strict_json`)."""
        data = dataclasses.asdict(self)
        data["metrics"] = [metric.to_json() for metric in self.metrics]
        return to_strict_json(data)

    @classmethod
    def from_json(cls, data: Any, stem: str | None = None, probe_checks: Mapping[str, ProbeCheck] = {}) -> Record:
        """A record from parsed JSON of any format, upgraded and validated; a
        `RecordError` says what is wrong. ``stem``: the file name it was read from, which
        must be its id. ``probe_checks``: each probe's check of its part, by record key."""
        data = upgrade(from_strict_json(data))
        problem = validate(data, probe_checks)
        if problem is None and stem is not None and data["id"] != stem:
            if stem.startswith(data["id"]):
                problem = f"a copy of {data['id']}.json (that record counts once): delete this file"
            else:
                problem = f"holds the record of cell {data['id']}, not of {stem}: rename it {data['id']}.json"
        if problem:
            raise RecordError(problem)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known and value is not None}  # null: default
        values["metrics"] = tuple(Metric.from_json(m) for m in values.get("metrics", ()))
        values["plugins"] = {
            role: PluginSource(source["name"], source.get("distribution"), source.get("version"))
            for role, source in values.get("plugins", {}).items()
        }
        return cls(**values)


# --- upgrade -------------------------------------------------------------------------------


def upgrade(data: Any) -> Any:
    """A record of any earlier format as the current format (a dict that is not a record
    comes back as it is, for `validate` to say why)."""
    if not isinstance(data, dict) or "format" in data:
        return data
    return _from_format_1(data)


def _from_format_1(old: dict[str, Any]) -> dict[str, Any]:
    data = {key: value for key, value in old.items() if key not in (*LEGACY_PROBES, "metric", "higher_is_better")}
    data["format"] = FORMAT
    data["probes"] = {key: old[key] for key in LEGACY_PROBES if key in old}
    metric = old.get("metric")
    higher = old.get("higher_is_better")
    if isinstance(metric, str):
        data["metrics"] = [legacy_metric(metric, higher).to_json()]
    else:  # none (an error record), or something validation will name
        data["metrics"] = [] if metric is None else [{"name": metric, "higher_is_better": higher}]
    plugins = old.get("plugins")
    if isinstance(plugins, dict):
        data["plugins"] = {role: {"name": name} if isinstance(name, str) else name for role, name in plugins.items()}
    config = old.get("config")
    options = config.get("task_options") if isinstance(config, dict) else None
    if "length_option" not in old and isinstance(options, dict):
        data["length_option"] = "T" if "T" in options else None  # the built-in probes' T, before tasks declared it
    return data


# --- validation ----------------------------------------------------------------------------

Check = Callable[[Any], str | None]  # what is wrong with a value, or None
ProbeCheck = Check


def validate(data: Any, probe_checks: Mapping[str, ProbeCheck] = {}) -> str | None:
    """What is wrong with an upgraded record, or None when it is valid: every field a
    reader uses has the type it expects, so no reader meets a null or a string where it
    reads a number."""
    if not isinstance(data, dict):
        return f"not a record (a JSON {type(data).__name__}, expected an object)"
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        return f"missing {', '.join(missing)}"
    if data.get("format") != FORMAT:
        return f"format {data.get('format')!r} is newer than this rnnbench reads ({FORMAT}): upgrade rnnbench"
    if data["status"] not in STATUSES:
        return f"unknown status {data['status']!r} (expected one of {', '.join(STATUSES)})"
    for key, check in SCHEMA.items():
        if key in data:
            problem = check(data[key])
            if problem:
                return f"'{key}' {problem}"
    if data["status"] in MEASURED:
        absent = [key for key in MEASURED_REQUIRED if data.get(key) is None]
        if absent:
            return f"a {data['status']} record without {', '.join(absent)}"
        if not data["metrics"]:
            return "a measured record that declares no metric"
    for key, check in probe_checks.items():
        for entry in data.get("probes", {}).get(key) or []:
            problem = check(entry)
            if problem:
                return f"'probes.{key}' {problem}"
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type(kind: type | tuple[type, ...], name: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _as_tuple(kind)):
            return None
        return f"is {_describe(value)}, expected {name}"

    return check


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__} ({str(value)[:40]!r})"


def number(value: Any) -> str | None:
    return None if is_number(value) else f"is {_describe(value)}, expected a number"


def optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def mapping_of(check: Check) -> Check:
    """An object whose every value passes ``check``."""

    def checked(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"is {_describe(value)}, expected an object"
        for key, item in value.items():
            problem = check(item)
            if problem:
                return f"[{key!r}] {problem}"
        return None

    return checked


def list_of(check: Check) -> Check:
    def checked(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"is {_describe(value)}, expected a list"
        for i, item in enumerate(value):
            problem = check(item)
            if problem:
                return f"[{i}] {problem}"
        return None

    return checked


def fields(**checks: Check) -> Check:
    """An object with these keys (each passing its check); other keys are free."""

    def checked(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"is {_describe(value)}, expected an object"
        for key, check in checks.items():
            if key not in value:
                return f"has no '{key}'"
            problem = check(value[key])
            if problem:
                return f".{key} {problem}"
        return None

    return checked


def _metric_declaration(value: Any) -> str | None:
    problem = fields(name=_type(str, "a string"), higher_is_better=_type(bool, "true or false"))(value)
    if problem:
        return problem
    try:
        Metric.from_json(value)
    except (TypeError, ValueError, KeyError) as exc:
        return f"is not a metric declaration ({exc})"
    return None


text = _type(str, "a string")
integer = _type(int, "an integer")
boolean = _type(bool, "true or false")
an_object = _type(dict, "an object")
numbers = mapping_of(optional(number))
entry = fields(step=integer)  # one measurement of a probe

REQUIRED = ("id", "status", "arch", "task", "seed", "config", "format")
MEASURED_REQUIRED = ("test", "valid", "throughput")
SCHEMA: dict[str, Check] = {
    "id": text,
    "arch": text,
    "task": text,
    "seed": integer,
    "error": optional(text),
    "traceback": optional(text),
    "config": fields(run=an_object, arch_options=an_object, task_options=an_object),
    "plugins": mapping_of(fields(name=text)),
    "metrics": list_of(_metric_declaration),
    "length_option": optional(text),
    "chance": optional(number),
    "solved_threshold": optional(number),
    "solved": optional(boolean),
    "test": optional(numbers),
    "test_at_length": optional(mapping_of(numbers)),
    "valid": optional(numbers),
    "best_step": optional(integer),
    "steps": optional(integer),
    "history": optional(list_of(fields(step=integer))),
    "probes": mapping_of(optional(list_of(entry))),
    "probe_errors": mapping_of(text),
    "throughput": optional(numbers),
    "params": optional(integer),
    "encoder_params": optional(integer),
    "state_size": optional(integer),
    "tuned": optional(list_of(text)),
    "match": optional(text),
    "confirmation": boolean,
    "seeded_data": boolean,
    "data": optional(an_object),
    "train_seconds": optional(number),
    "probe_seconds": optional(number),
    "eval_seconds": optional(number),
    "wall_seconds": optional(number),
    "environment": optional(an_object),
    "finished": optional(text),
}


# --- strict JSON ---------------------------------------------------------------------------


def to_strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its string name (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: to_strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_strict_json(v) for v in value]
    return value


def from_strict_json(value: Any) -> Any:
    """The inverse of `to_strict_json`."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: from_strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_strict_json(v) for v in value]
    return value
