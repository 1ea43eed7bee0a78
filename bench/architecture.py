"""`Architecture`: what an architecture plugin registers.

The encoder contract (public, tested for every registered architecture):

- ``encoder.output_size: int``
- ``encoder(x, lengths) -> final`` with ``x: float[B, T, input_size]`` post-padded,
  ``lengths: long[B]``, ``final: float[B, output_size]``: the state after each sequence's
  own last real token. Padding never changes the result.
- optional ``encoder.unrolled(x, lengths) -> (final, states)`` or ``(final, states,
  outputs)``: ``states[t]`` is ``float[B, W]``, the true recurrent state after step t (its
  width W need not be ``output_size``: an LRU's complex state, an mLSTM's matrix, flattened;
  D equal chunks for D directions), and lies on the recurrent path: the tensor step t's
  output and step t+1 both read, so autograd gives the total derivative dL/dh_t.
  ``outputs`` (``float[B, T, output_size]``, token order) are the per-position outputs
  computed from those states, which the gradient probe reads on tasks with an answer at many
  positions; an encoder whose states are its outputs (the built-ins) may leave them out.
  Without ``unrolled()``, gradient probes fall back to input gradients dL/dx_t.
- optional ``encoder.param_groups() -> list[dict]``: optimiser groups, each ``{"params":
  [...], "lr_scale": float, "weight_decay": float}`` (both optional): the recurrence's
  parameters of an LRU or S4 train at a lower rate and without weight decay. Parameters in
  no group train with the run's settings.
- optional ``encoder.sequence(x, lengths) -> float[B, T, output_size]``: the output at every
  position, in token order (a bidirectional encoder puts both directions' states for token
  t at position t); its value at ``lengths - 1`` is ``forward``'s for a one-directional
  encoder. Tasks that read an output at many positions (copy, recall) need it.
- optional ``encoder.gates(x, lengths) -> {name: float[B, T, D*H]}``: each gate's activation
  at every step, in processing order like ``unrolled()``'s states (for the gate probe).
- optional ``encoder.directions: int`` (default 1): ``states[t]`` splits into that many
  equal chunks, one per direction, each in processing order (step ``t`` of the backward
  direction reads token ``length - 1 - t``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from bench.errors import ConfigError, PluginError, unknown_name

# Sequence-to-one gradients decay into float32 denormals going back through time, and x86
# CPUs compute on denormals many times slower (LSTM, B=64, T=256, H=256, 2 threads: 3.1 s
# vs 0.22 s per forward+backward). Flush them to zero. This must happen before torch starts
# its thread pool: worker threads inherit the setting only when they are created. Every
# model rnnbench builds (and every plugin, through `bench.Architecture` or `bench.Task`,
# which imports this module) passes through here first.
torch.set_flush_denormal(True)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]*$")


@dataclass(frozen=True)
class Architecture:
    """A recurrent encoder family.

    - ``name``: what users type (``--arch NAME``); lower case, digits, ``_`` and ``-``.
    - ``description``: one line for ``rnnbench list``.
    - ``factory(input_size, hidden_size, **options)``: builds the encoder.
    - ``defaults``: every option the factory accepts, with its default value (options from
      the command line take the type of their default). Checked against the factory's
      signature at registration.
    - ``check_options(options) -> list[str]``: what is wrong with a full set of options, one
      sentence per problem saying what to change. Called when cells are planned, so a bad
      value fails a whole run or sweep before anything trains. Optional.
    - ``added_later``: options added after results were stored. At their defaults they stay
      out of a cell's identity (`bench.cell`), so the cells computed before they existed keep
      their ids and still count as done. Name every option you add to a released plugin here.
    """

    name: str
    description: str
    factory: Callable[..., nn.Module]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    check_options: Callable[[Mapping[str, Any]], list[str]] = field(default=lambda options: [], compare=False)
    added_later: tuple[str, ...] = ()

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
        if not callable(self.check_options):
            problems.append("check_options must be callable")
        if not problems:
            problems.extend(signature_problems(self.factory, self.defaults))
            problems.extend(
                f"added_later names {key!r}, which is not one of its options (defaults)"
                for key in self.added_later
                if key not in self.defaults
            )
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


def signature_problems(factory: Callable[..., Any], defaults: Mapping[str, Any]) -> list[str]:
    """Where ``defaults`` and ``factory(input_size, hidden_size, **options)``'s signature
    disagree: an option the factory cannot take, or a parameter with no default anywhere."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return []
    kinds = {p.kind for p in parameters}
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and inspect.Parameter.VAR_POSITIONAL not in kinds:
        return ["factory must accept (input_size, hidden_size, **options)"]
    named = {p.name: p for p in positional[2:] + [p for p in parameters if p.kind is p.KEYWORD_ONLY]}
    problems = []
    if inspect.Parameter.VAR_KEYWORD not in kinds:
        unknown = [key for key in defaults if key not in named]
        if unknown:
            problems.append(f"defaults name {', '.join(unknown)}, which the factory does not accept")
    missing = [name for name, p in named.items() if p.default is p.empty and name not in defaults]
    if missing:
        problems.append(f"the factory's {', '.join(missing)} has no default: add it to defaults")
    return problems


def unrolled_method(encoder: nn.Module) -> Callable[..., Any] | None:
    """The encoder's ``unrolled(x, lengths)`` when it has one: the one test of "has
    unrolled()" that the gradient probe and `rnnbench check` share."""
    method = getattr(encoder, "unrolled", None)
    return method if callable(method) else None


@dataclass
class Unrolled:
    """What ``unrolled()`` returned: the final output, the state after every step, and the
    per-position outputs (None when the encoder's states are its outputs)."""

    final: torch.Tensor
    states: list[torch.Tensor]
    outputs: torch.Tensor | None = None


def unroll(encoder: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Unrolled:
    """Call the encoder's ``unrolled(x, lengths)`` and read either form it may return."""
    result = encoder.unrolled(x, lengths)
    if not isinstance(result, tuple | list) or len(result) not in (2, 3):
        raise PluginError(
            f"{type(encoder).__name__}.unrolled() returned {type(result).__name__}; the contract is "
            f"(final, states) or (final, states, outputs). Run `rnnbench check`."
        )
    return Unrolled(*result)


def tokens_order(states: list[torch.Tensor], lengths: torch.Tensor, directions: int) -> torch.Tensor:
    """An encoder's states as per-position outputs ``[B, T, W]`` in token order, for an encoder
    whose states are its outputs: a backward direction's step s read token ``length - 1 - s``."""
    stacked = torch.stack(states, 1)
    if directions == 1:
        return stacked
    forward, backward = stacked.chunk(2, -1)
    t = torch.arange(stacked.shape[1], device=lengths.device)
    source = lengths[:, None] - 1 - t[None, :]
    source = torch.where(source >= 0, source, t[None, :])  # padding stays where it is
    backward = backward.gather(1, source[:, :, None].expand(-1, -1, backward.shape[-1]))
    return torch.cat([forward, backward], -1)


def param_groups_method(encoder: nn.Module) -> Callable[[], list[dict[str, Any]]] | None:
    """The encoder's ``param_groups()`` when it declares optimiser groups."""
    method = getattr(encoder, "param_groups", None)
    return method if callable(method) else None


def sequence_method(encoder: nn.Module) -> Callable[..., Any] | None:
    """The encoder's ``sequence(x, lengths)`` when it has one (per-position outputs, which
    tasks with ``outputs = "sequence"`` need)."""
    method = getattr(encoder, "sequence", None)
    return method if callable(method) else None


def gates_method(encoder: nn.Module) -> Callable[..., dict[str, torch.Tensor]] | None:
    """The encoder's ``gates(x, lengths) -> {name: float[B, T, D*H]}`` when it has one (the
    gate probe reads it)."""
    method = getattr(encoder, "gates", None)
    return method if callable(method) else None


def output_violation(final: object, expected: tuple[int, int], dtypes: Collection[torch.dtype]) -> str | None:
    """How an encoder's output breaks the contract ("(3, 8) torch.float64", say), or None
    when it is one vector of ``expected`` shape per sequence, in one of ``dtypes``."""
    if isinstance(final, torch.Tensor) and tuple(final.shape) == expected and final.dtype in dtypes:
        return None
    return f"{tuple(final.shape)} {final.dtype}" if isinstance(final, torch.Tensor) else type(final).__name__
