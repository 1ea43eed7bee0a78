"""`Task`: what a task plugin registers, and the data it prepares.

A task subclasses `Task`, sets its class attributes and implements `prepare`. Everything
else has a default chosen by `kind`: classification gets a linear classifier, cross-entropy
and accuracy; regression gets a linear regressor, squared error and MSE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from bench.architecture import NAME_PATTERN
from bench.errors import ConfigError, PluginError, unknown_name
from bench.metrics import ACCURACY, MSE, Metric

KINDS = ("classification", "regression")
OUTPUTS = ("final", "sequence")
IGNORE = -100
"""The target of a position that has no answer (tasks with ``outputs = "sequence"``):
cross-entropy's ``ignore_index``; loss and accuracy skip it."""


@dataclass
class SequenceSet:
    """One split: post-padded inputs, the real length of each sequence, and the targets.

    ``inputs`` is ``long[N, T]`` (token ids) or ``float[N, T, F]`` (feature vectors);
    ``targets`` is ``long[N]`` for classification and ``float[N]`` for regression, or, for a
    task whose ``outputs`` is ``"sequence"``, ``long[N, T]``: a class per position, `IGNORE`
    where a position has no target.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor

    def __post_init__(self) -> None:
        n = len(self.inputs)
        if len(self.lengths) != n or len(self.targets) != n:
            raise PluginError(
                f"SequenceSet sizes disagree: {n} inputs, {len(self.lengths)} lengths, {len(self.targets)} targets"
            )
        if n and (int(self.lengths.min()) < 1 or int(self.lengths.max()) > self.inputs.shape[1]):
            raise PluginError("SequenceSet lengths must lie in [1, inputs.shape[1]]")
        if self.targets.dim() == 2 and self.targets.shape[1] != self.inputs.shape[1]:
            raise PluginError(
                f"SequenceSet per-position targets have {self.targets.shape[1]} positions, inputs "
                f"{self.inputs.shape[1]}: give one target (or IGNORE) per input position"
            )

    def __len__(self) -> int:
        return len(self.inputs)


@dataclass
class TaskData:
    """What `Task.prepare` returns: three splits and the sizes the model needs.

    Token inputs set ``vocab_size`` (and ``pad_index``); vector inputs set ``num_features``.
    ``info`` holds facts worth recording with the results (vocabulary size, padding...).
    """

    train: SequenceSet
    valid: SequenceSet
    test: SequenceSet
    num_outputs: int  # classes for classification, 1 for regression
    vocab_size: int | None = None
    pad_index: int = 0
    num_features: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.vocab_size is None) == (self.num_features is None):
            raise PluginError("TaskData needs exactly one of vocab_size (tokens) or num_features")


class Task:
    """Base class of every task. Subclass it, set the class attributes, implement `prepare`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "classification"
    # Task options with their defaults (types come from the defaults).
    defaults: ClassVar[Mapping[str, Any]] = {}
    # "final": one target per sequence, read from the encoder's final state; "sequence": a
    # target per position (or IGNORE), read from the encoder's sequence() output (copy, recall).
    outputs: ClassVar[str] = "final"
    # Training settings that suit this task, overriding `bench.config.RunConfig`'s defaults.
    train_defaults: ClassVar[Mapping[str, Any]] = {}
    # Seeds a run uses when none are given: probes judge "solved" by the success rate over seeds.
    default_seeds: ClassVar[int] = 1
    # Metric value at which the task counts as solved (probes); None when it has none.
    solved_threshold: ClassVar[float | None] = None
    # The option (one of ``defaults``) that sets the sequence length, or None. Horizon sweeps
    # vary it; reports compare models at one value of it at a time and label them by it.
    length_option: ClassVar[str | None] = None
    # Options added after results were stored: at their default they stay out of a cell's
    # identity, so the cells computed before the option existed keep their ids (`bench.cell`).
    added_later: ClassVar[tuple[str, ...]] = ()
    # The metrics this task reports (`bench.Metric`: direction, range, display), the headline
    # first; `scores` computes them. Empty: by kind, accuracy (classification) or MSE (regression).
    metrics: ClassVar[tuple[Metric, ...]] = ()
    # Whether the data depend only on the options and the seed (what `prepare` promises):
    # models compared at one seed then saw the same data, and the tests pair them by seed.
    # A task that draws its data anew on every run sets False, and gets unpaired tests.
    seeded_data: ClassVar[bool] = True

    def validate(self) -> list[str]:
        """Problems with this task's declaration, for the host's registration check."""
        problems = []
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            problems.append(f"name {self.name!r} must match {NAME_PATTERN.pattern}")
        if not isinstance(self.description, str) or not self.description.strip():
            problems.append("description must be a non-empty string")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} must be one of {', '.join(KINDS)}")
        if self.outputs not in OUTPUTS:
            problems.append(f"outputs {self.outputs!r} must be one of {', '.join(OUTPUTS)}")
        elif self.outputs == "sequence" and self.kind != "classification":
            problems.append("outputs='sequence' needs kind='classification' (a class per position)")
        if self.length_option is not None and self.length_option not in self.defaults:
            problems.append(f"length_option {self.length_option!r} is not one of its options (defaults)")
        problems += [
            f"added_later names {key!r}, which is not one of its options"
            for key in self.added_later
            if key not in self.defaults
        ]
        if type(self).prepare is Task.prepare:
            problems.append("prepare() is not implemented")
        if not all(isinstance(metric, Metric) for metric in self.metrics):
            problems.append("metrics must be bench.Metric declarations, the headline first")
        return problems

    def resolve_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated with ``options``; an unknown option is an error."""
        for key in options:
            if key not in self.defaults:
                raise ConfigError(str(unknown_name(f"option of task '{self.name}'", key, self.defaults)))
        return {**self.defaults, **options}

    # --- what a plugin must provide -------------------------------------------------------

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        """Load or generate the data. Same options and seed -> same data. The options have
        passed ``check_options``."""
        raise NotImplementedError

    # --- what a plugin may override ------------------------------------------------------

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        """What is wrong with these resolved options, one sentence per problem saying what
        to change; empty when they are fine. Called when cells are planned, before any data
        is prepared, so a bad value fails a whole sweep (or its --dry-run) at once."""
        return []

    def download(self) -> str | None:
        """Fetch the task's data files (``rnnbench data NAME``); return where they went.
        Tasks that generate their data have nothing to fetch and return None."""
        return None

    @property
    def metric(self) -> str:
        """Name of the headline metric."""
        return self.metrics[0].name if self.metrics else self._by_kind().name

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger headline metric is better; reports rank and draw by it."""
        return self.metrics[0].higher_is_better if self.metrics else self._by_kind().higher_is_better

    @property
    def metric_declarations(self) -> tuple[Metric, ...]:
        """Every metric this task reports, the headline first, as records carry them."""
        if self.metrics:
            return tuple(self.metrics)
        default = self._by_kind()
        if (self.metric, self.higher_is_better) != (default.name, default.higher_is_better):
            # a plugin that overrides the `metric` and `higher_is_better` properties (rnnbench 0.1)
            return (Metric(self.metric, self.higher_is_better, log_axis=not self.higher_is_better),)
        return (default,)

    @property
    def headline(self) -> Metric:
        """The headline metric: what tables rank and the solved threshold reads."""
        return self.metric_declarations[0]

    def _by_kind(self) -> Metric:
        return ACCURACY if self.kind == "classification" else MSE

    def chance(self, data: TaskData) -> float:
        """The headline metric of the best input-blind predictor."""
        train = data.train.targets
        if self.kind == "classification":
            train = train[train != IGNORE]  # positions with a target (sequence outputs)
            return float(torch.bincount(train, minlength=data.num_outputs).max() / len(train))
        return float(train.float().var(unbiased=False))

    def input_adapter(self, data: TaskData, embed_size: int, options: Mapping[str, Any]) -> nn.Module:
        """Maps task inputs to ``float[B, T, E]``: an embedding for tokens, a linear map for vectors."""
        if data.vocab_size is not None:
            return nn.Embedding(data.vocab_size, embed_size, padding_idx=data.pad_index)
        return nn.Linear(data.num_features, embed_size)

    def head(self, data: TaskData, input_size: int, options: Mapping[str, Any]) -> nn.Module:
        """Maps the encoder's final state to the output (logits or a scalar)."""
        return nn.Linear(input_size, data.num_outputs)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample loss, ``float[B]`` (the trainer averages it). Per-position outputs
        ``[B, T, C]``: the mean over each sample's positions that have a target."""
        if output.dim() == 3:
            per_position = F.cross_entropy(output.transpose(1, 2), target, ignore_index=IGNORE, reduction="none")
            return _over_targets(per_position, target)
        if self.kind == "classification":
            return F.cross_entropy(output, target, reduction="none")
        return (output.squeeze(-1) - target) ** 2

    def score(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample headline metric, ``float[B]``; the reported metric is its mean. Per-position
        outputs: each sample's accuracy over its positions that have a target."""
        if output.dim() == 3:
            return _over_targets((output.argmax(-1) == target).float(), target)
        if self.kind == "classification":
            return (output.argmax(-1) == target).float()
        return (output.squeeze(-1) - target) ** 2

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every declared metric per sample, ``{name: float[B]}``; each reported value is its
        mean. The default scores the headline with `score`; a task that declares more
        metrics returns them all."""
        return {self.metric: self.score(output, target)}

    def is_solved(self, value: float) -> bool | None:
        if self.solved_threshold is None or value != value:  # NaN never solves
            return None if self.solved_threshold is None else False
        if self.headline.higher_is_better:
            return value >= self.solved_threshold
        return value < self.solved_threshold


def hold_out(count: int, held_out: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of ``count`` items: (the ``held_out`` indices, the rest), both
    in random order. Tasks carve their validation split from the training data with it, so
    that the same seed holds out the same items everywhere."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return order[:held_out], order[held_out:]


def _over_targets(per_position: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each sample's mean of ``per_position`` over its positions that have a target."""
    mask = target != IGNORE
    return (per_position * mask).sum(1) / mask.sum(1).clamp(min=1)
