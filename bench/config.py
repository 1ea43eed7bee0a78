"""Run settings (`RunConfig`) and the parsing of ``key=value`` overrides into their types.

The cells a run expands into are planned in `bench.planner`; a cell's identity is decided
in `bench.cell`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.errors import ConfigError

BLOCKS = ("none", "residual")  # bench.block's wrappers

# Seeds are integers in [0, 2**32): what numpy's generators accept, so that every task
# plugin can seed its data from them.
SEED_LIMIT = 2**32
# The largest learning rate AdamW can take: its first step divides lr by 1 - beta1 = 0.1 and
# computes in float32, whose largest value is 3.4e38. Larger rates fail every cell with an
# overflow instead of training (a rate that merely makes training diverge is a result).
LR_LIMIT = 3.4e37


@dataclass(frozen=True)
class RunConfig:
    """Training and measurement settings. A task's ``train_defaults`` replace these
    defaults; ``--set key=value`` replaces both."""

    ## model shape
    hidden_size: int = 128  # encoder state size per direction
    embed_size: int = 64  # input adapter output: embedding size, or projected features
    ## optimisation
    batch_size: int = 64  # sequences per training step
    lr: float = 2e-3  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay; 0 is plain Adam
    clip: float = 1.0  # max global gradient norm; 0 disables clipping
    schedule: str = "constant"  # "constant", or "cosine" decay to 0 over the budget
    epochs: int = 1  # passes over the training set (when max_steps is 0)
    max_steps: int = 0  # step budget; 0 trains for `epochs` instead
    eval_every: int = 0  # steps between validations; 0 validates once per epoch
    # "fp32", or "bf16": forward passes under bfloat16 autocast (weights, optimizer and loss
    # stay float32). 1.7x for an LSTM training step on the AMD EPYC development machine
    # (AVX-512, no AMX), slower for the GRU and tanh RNN (docs/results/speed.md).
    precision: str = "fp32"
    # length generalisation: after training, test again at these values of the task's length
    # option ("100,200,400"), on data generated at each length; "" tests at the trained length only
    eval_lengths: str = ""
    # the wrapper: "none" runs the architecture bare; "residual" inside `blocks` pre-norm residual
    # blocks (norm, the architecture, residual, MLP), as modern recurrences are used (bench/block.py)
    block: str = "none"
    blocks: int = 1  # residual blocks stacked, with block="residual"
    ## measurement
    warmup_steps: int = 3  # first training steps left out of throughput (allocations, caches)
    probe_points: int = 4  # gradient profiles during training, besides the one at initialisation
    probe_batch: int = 64  # sequences per gradient profile (and per gate profile)
    # sequences for the Jacobian spectrum at initialisation and after training; 0: off (it
    # costs a backward pass per hidden unit and step: seconds per cell at probe sizes)
    jacobian_batch: int = 0
    ## execution: recorded with the results, not part of a cell's identity
    device: str = "auto"  # "auto": CUDA when available, else CPU
    threads: int = 0  # CPU threads; 0: this process's share of the machine's cores

    EXECUTION = ("device", "threads")
    # Settings added after results were first stored: they enter a cell's identity only when
    # set away from their default, so cells computed before they existed keep their ids.
    ADDED_LATER = ("precision", "eval_lengths", "jacobian_batch", "block", "blocks")
    SCHEDULES = ("constant", "cosine")
    PRECISIONS = ("fp32", "bf16")

    def __post_init__(self) -> None:
        unset = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is None]
        if unset:
            raise ConfigError(f"invalid settings: {', '.join(unset)} must have a value, not none")
        problems = []
        for name in ("hidden_size", "embed_size", "batch_size", "epochs", "probe_batch", "blocks"):
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
        if not 0 < self.lr <= LR_LIMIT:
            problems.append(f"lr must lie in (0, {LR_LIMIT:.2g}], got {self.lr}")
        if self.schedule not in self.SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(self.SCHEDULES)}, got {self.schedule!r}")
        if self.block not in BLOCKS:
            problems.append(f"block must be one of {', '.join(BLOCKS)}, got {self.block!r}")
        if self.precision not in self.PRECISIONS:
            problems.append(f"precision must be one of {', '.join(self.PRECISIONS)}, got {self.precision!r}")
        try:
            self.eval_length_values()
        except ValueError as exc:
            problems.append(f"eval_lengths={self.eval_lengths!r}: {exc}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            problems.append(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))

    def eval_length_values(self) -> list[int]:
        """``eval_lengths`` as integers (a ValueError that says what is wrong when malformed)."""
        parts = [part for part in self.eval_lengths.replace(" ", "").split(",") if part]
        try:
            values = [int(part) for part in parts]
        except ValueError:
            raise ValueError("expected positive integers separated by commas, for example 100,200,400") from None
        if any(value < 1 for value in values):
            raise ValueError("every length must be a positive integer")
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ValueError(f"{', '.join(map(str, repeated))} given more than once; each length is tested once")
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
