"""A cell, and the one identity policy that decides when two cells are the same.

One cell = one architecture x one task x one seed x one resolved configuration. Its id is a
hash of everything that decides its result, so the store can tell a finished cell from a
new one.

The identity policy, the same for run settings, architecture options and task options: an
option that was *added later* (after results were stored; `RunConfig.ADDED_LATER`,
`Architecture.added_later`, `Task.added_later`) enters the identity only when it is set
away from its default. So a new option, left at its default, keeps every stored id, and the
stored cells still count as done. Execution settings (device, threads) never enter it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.architecture import Architecture
from bench.config import RunConfig
from bench.task import Task


def later_at_default(options: Mapping[str, Any], defaults: Mapping[str, Any], added_later: Collection[str]) -> set[str]:
    """The options added later that sit at their defaults: they stay out of the identity."""
    return {key for key in added_later if key in options and options[key] == defaults[key]}


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
    # A fresh seed of a setting the tuning selected (`bench.planner.confirmation_cells`): its
    # result reports the setting and never takes part in selecting it.
    confirmation: bool = False
    # Options left out of the identity by the policy above, as "run.KEY", "arch.KEY", "task.KEY".
    unidentified: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        arch: Architecture,
        task: Task,
        seed: int,
        run: RunConfig,
        arch_options: Mapping[str, Any],
        task_options: Mapping[str, Any],
        **planned: Any,
    ) -> Cell:
        """A cell with the identity policy applied (``planned``: ``tuned``, ``match``)."""
        unidentified = {
            f"{prefix}.{key}"
            for prefix, options, defaults, added in (
                ("run", dataclasses.asdict(run), RunConfig.defaults(), RunConfig.ADDED_LATER),
                ("arch", arch_options, arch.defaults, arch.added_later),
                ("task", task_options, task.defaults, task.added_later),
            )
            for key in later_at_default(options, defaults, added)
        }
        return cls(
            arch.name, task.name, int(seed), run, dict(arch_options), dict(task_options), **planned,
            unidentified=frozenset(unidentified),
        )  # fmt: skip

    def identity(self) -> dict[str, Any]:
        def kept(prefix: str, options: Mapping[str, Any], dropped: Collection[str] = ()) -> dict[str, Any]:
            return {k: v for k, v in options.items() if f"{prefix}.{k}" not in self.unidentified and k not in dropped}

        return {
            "arch": self.arch,
            "task": self.task,
            "seed": self.seed,
            "run": kept("run", dataclasses.asdict(self.run), RunConfig.EXECUTION),
            "arch_options": kept("arch", self.arch_options),
            "task_options": kept("task", self.task_options),
        }

    @property
    def id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return f"{self.task}-{self.arch}-s{self.seed}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    def config(self) -> dict[str, Any]:
        """Everything, execution settings included, as recorded with the result."""
        return {
            **self.identity(),
            "run": dataclasses.asdict(self.run),
            "arch_options": dict(self.arch_options),
            "task_options": dict(self.task_options),
        }
