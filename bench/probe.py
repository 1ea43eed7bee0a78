"""Probes as a protocol: what the runner measures besides the metrics, how it is stored,
and how it is drawn.

A probe declares its name, the key its measurements are stored under (``record.probes[key]``),
when it runs, a function that measures and, optionally, a function that draws one figure per
task setup, a check of one stored measurement, and the flat numbers it adds to the results
frame. The runner, the store, the results frame and the figures iterate one list: the
registered probes (built-in ones in `bench.builtin_probes`, any plugin's through the hook
``rnnbench_register_probes``).

A probe that raises is recorded in ``record.probe_errors`` under its name and not run again
in that cell; the cell itself goes on and is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.batching import Batch
from bench.errors import PluginError
from bench.model import SequenceModel
from bench.plugins import collect
from bench.record import Check, Record
from bench.registry import Registry
from bench.task import Task, TaskData

# When a probe runs: before the first training step, at the cell's probe points during
# training (``probe_points`` steps spread over the budget, the last step included), and
# after training (on the last weights, before the best-validation weights are tested).
WHEN = ("init", "during", "end")


@dataclass(frozen=True)
class ProbeContext:
    """What a probe may read: the model at this step, the task and its data, the cell's
    settings, and the probe batch (the first ``probe_batch`` validation sequences, the same
    at every step)."""

    model: SequenceModel
    task: Task
    data: TaskData
    batch: Batch
    step: int
    seed: int
    run: Any  # bench.config.RunConfig
    arch_options: Mapping[str, Any]
    device: torch.device


@dataclass(frozen=True)
class Drawn:
    """A record as figures draw it: with the labels the tables group it by."""

    record: Record
    setup: str  # the task with any option its cells differ in (figures are drawn per setup)
    model: str  # the architecture with any setting its cells differ in


@dataclass(frozen=True)
class Probe:
    """One probe.

    - ``name``: what users and errors call it; also the stem of its figure.
    - ``description``: one line for ``rnnbench list``.
    - ``key``: its measurements are stored as ``record.probes[key]``, a list of dicts, each
      with the ``step`` it was taken at.
    - ``when``: a subset of ``("init", "during", "end")``.
    - ``measure(context) -> dict | None``: one measurement (None: nothing to record here,
      for example a gate probe on an encoder without gates).
    - ``draw(drawn) -> matplotlib Figure | None``: one figure of a task setup's records.
    - ``check(entry) -> str | None``: what is wrong with one stored measurement; a record
      that fails it is skipped as damaged, so readers never meet a malformed one.
    - ``columns(entries) -> dict``: flat numbers for the results frame (`bench.load_results`).
    """

    name: str
    description: str
    key: str
    when: Collection[str]
    measure: Callable[[ProbeContext], dict[str, Any] | None]
    draw: Callable[[list[Drawn]], Any] | None = field(default=None, compare=False)
    check: Check | None = field(default=None, compare=False)
    columns: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append("name must be a non-empty string")
        if not isinstance(self.key, str) or not self.key:
            problems.append("key must be a non-empty string")
        unknown = set(self.when) - set(WHEN)
        if unknown or not self.when:
            problems.append(f"when must be a non-empty subset of {WHEN}, got {sorted(self.when)}")
        if not callable(self.measure):
            problems.append("measure must be callable")
        if problems:
            raise PluginError(f"invalid Probe {self.name!r}: " + "; ".join(problems))


def probes() -> Registry[Probe]:
    """Every registered probe (built-in and plugins'), by name; record keys are unique too."""
    registry = collect("rnnbench_register_probes", "probe", Probe)
    owners: dict[str, str] = {}
    for name, probe, plugin in registry:
        if probe.key in owners:
            raise PluginError(
                f"probes '{owners[probe.key]}' and '{name}' (plugin '{plugin}') both store under the record key "
                f"'{probe.key}'; give one of them another key"
            )
        owners[probe.key] = name
    return registry


def probe_checks() -> dict[str, Check]:
    """Each probe's check of its stored measurements, by record key."""
    return {probe.key: probe.check for _, probe, _ in probes() if probe.check is not None}
