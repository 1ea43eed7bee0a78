"""`Architecture`: what an architecture plugin registers.

The encoder contract (public, tested for every registered architecture):

- ``encoder.output_size: int``
- ``encoder(x, lengths) -> final`` with ``x: float[B, T, input_size]`` post-padded,
  ``lengths: long[B]``, ``final: float[B, output_size]``: the state after each sequence's
  own last real token. Padding never changes the result.
- optional ``encoder.unrolled(x, lengths) -> (final, states)``: ``states[t]`` is
  ``float[B, D*H]`` and lies on the recurrent path (the tensor the next step reads), so
  autograd gives the total derivative dL/dh_t. Without it, gradient probes fall back to
  input gradients dL/dx_t.
- optional ``encoder.directions: int`` (default 1): ``states[t]`` splits into that many
  equal chunks, one per direction, each in processing order (step ``t`` of the backward
  direction reads token ``length - 1 - t``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from bench.errors import ConfigError, PluginError, unknown_name

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]*$")


@dataclass(frozen=True)
class Architecture:
    """A recurrent encoder family.

    ``factory(input_size, hidden_size, **options)`` builds the encoder; ``defaults`` lists
    every option it accepts with its default value (types are taken from the defaults when
    options come from the command line).
    """

    name: str
    description: str
    factory: Callable[..., nn.Module]
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            problems.append(f"name {self.name!r} must match {NAME_PATTERN.pattern}")
        if not isinstance(self.description, str) or not self.description.strip():
            problems.append("description must be a non-empty string")
        if not callable(self.factory):
            problems.append(f"factory must be callable, got {type(self.factory).__name__}")
        if not isinstance(self.defaults, Mapping):
            problems.append(f"defaults must be a mapping, got {type(self.defaults).__name__}")
        if problems:
            raise PluginError(f"invalid Architecture {self.name!r}: " + "; ".join(problems))

    def resolve_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated with ``options``; an unknown option is an error."""
        for key in options:
            if key not in self.defaults:
                raise ConfigError(str(unknown_name(f"option of architecture '{self.name}'", key, self.defaults)))
        return {**self.defaults, **options}

    def build(self, input_size: int, hidden_size: int, **options: Any) -> nn.Module:
        """Build an encoder and check the parts of the contract visible without running it."""
        encoder = self.factory(input_size, hidden_size, **self.resolve_options(options))
        if not isinstance(encoder, nn.Module):
            raise PluginError(f"architecture '{self.name}' built a {type(encoder).__name__}, not a torch.nn.Module")
        size = getattr(encoder, "output_size", None)
        if not isinstance(size, int) or size <= 0:
            raise PluginError(
                f"architecture '{self.name}': encoder.output_size must be a positive int, "
                f"got {size!r}; set it in the encoder's __init__"
            )
        return encoder


def output_violation(final: object, expected: tuple[int, int], dtypes: Collection[torch.dtype]) -> str | None:
    """How an encoder's output breaks the contract ("(3, 8) torch.float64", say), or None
    when it is one vector of ``expected`` shape per sequence, in one of ``dtypes``."""
    if isinstance(final, torch.Tensor) and tuple(final.shape) == expected and final.dtype in dtypes:
        return None
    return f"{tuple(final.shape)} {final.dtype}" if isinstance(final, torch.Tensor) else type(final).__name__
