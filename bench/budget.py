"""Equal budgets: the hidden size that gives each architecture the same encoder parameter
count (``--match params=N``) or the same recurrent state (``--match state=N``).

Encoders are built on the meta device, where no memory is allocated and nothing is
initialised, so counting is exact (it is the model the run builds) and takes milliseconds:
a bisection over the hidden size builds about twenty of them per architecture.

The state is what a sequence carries from one step to the next, as the encoder declares it
(``encoder.state_size``): H for a tanh RNN or GRU layer, 2H for an LSTM layer (h and c),
summed over layers and directions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from bench.architecture import Architecture
from bench.block import build_encoder
from bench.errors import ConfigError, PluginError

MATCH_KINDS = ("params", "state")
MAX_HIDDEN = 1 << 16  # the bisection's upper end: far beyond any budget this tool runs


@dataclass(frozen=True)
class Match:
    """What ``--match KIND=N`` asks for: the size every architecture is matched to."""

    kind: str  # "params" (encoder parameters) or "state" (recurrent state per sequence)
    target: int

    @classmethod
    def parse(cls, text: str | Match | None) -> Match | None:
        """``"params=20000"`` -> ``Match("params", 20000)``; None stays None."""
        if text is None or isinstance(text, Match):
            return text
        kind, sep, value = str(text).partition("=")
        kind = kind.strip()
        try:
            target = int(value.strip().replace("_", ""))
        except ValueError:
            target = 0
        if not sep or kind not in MATCH_KINDS or target < 1:
            raise ConfigError(
                f"--match {text!r}: expected params=N or state=N with N a positive integer, for example "
                f"--match params=20000"
            )
        return cls(kind, target)

    def __str__(self) -> str:
        return f"{self.kind}={self.target}"


def build_on_meta(
    arch: Architecture,
    input_size: int,
    hidden_size: int,
    options: Mapping[str, Any],
    block: str = "none",
    blocks: int = 1,
) -> nn.Module:
    """The encoder a run builds (inside its block, `bench.block`), on the meta device."""
    with torch.device("meta"):
        return build_encoder(arch, input_size, hidden_size, options, block, blocks)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (what the optimiser updates)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def state_size(arch: Architecture, encoder: nn.Module) -> int:
    """The encoder's declared recurrent state per sequence; a clear error without one."""
    size = getattr(encoder, "state_size", None)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise PluginError(
            f"architecture '{arch.name}' declares no state size: set encoder.state_size (an int: the numbers a "
            f"sequence carries from one step to the next, summed over layers and directions) to match state"
        )
    return size


def measure(
    arch: Architecture,
    input_size: int,
    hidden_size: int,
    options: Mapping[str, Any],
    block: str = "none",
    blocks: int = 1,
) -> dict[str, int | None]:
    """Encoder parameters and state size (None when the encoder does not declare it)."""
    encoder = build_on_meta(arch, input_size, hidden_size, options, block, blocks)
    try:
        state = state_size(arch, encoder)
    except PluginError:
        state = None
    return {"encoder_params": count_parameters(encoder), "state_size": state}


def matched_hidden_size(
    arch: Architecture,
    input_size: int,
    options: Mapping[str, Any],
    match: Match,
    block: str = "none",
    blocks: int = 1,
) -> int:
    """The hidden size whose encoder parameters (or state) lie closest to ``match.target``.

    Both grow with the hidden size, so a bisection finds the first size at or above the
    target; it or the size below it is the closest (the smaller on a tie)."""

    def size(hidden: int) -> int:
        encoder = build_on_meta(arch, input_size, hidden, options, block, blocks)
        return count_parameters(encoder) if match.kind == "params" else state_size(arch, encoder)

    low, high = 1, MAX_HIDDEN
    if size(high) < match.target:
        raise ConfigError(f"{arch.name}: no hidden size up to {MAX_HIDDEN} reaches {match}")
    while low < high:  # the first hidden size whose count reaches the target
        middle = (low + high) // 2
        if size(middle) >= match.target:
            high = middle
        else:
            low = middle + 1
    if low > 1 and match.target - size(low - 1) <= size(low) - match.target:
        return low - 1
    return low
