"""What the modern recurrences share: a stack of layers, each a *diagonal linear recurrence*

    h_t = a_t * h_{t-1} + b_t          (elementwise; real or complex; a_t and b_t from the input)
    y_t = readout(h_t, input)

(LRU, S4D, Mamba's selective SSM, RG-LRU, minGRU, minLSTM). A layer says how to compute
``a``, ``b`` and the readout from its input; `DiagonalEncoder` runs the stack with the shared
scan (`bench.linear_scan`) and meets the encoder contract:

- ``forward`` and ``sequence``: every layer by the scan; the output at each sequence's own
  last step (a forward recurrence: padding after it cannot reach it);
- ``unrolled``: the lower layers by the scan, the top layer step by step, its state carried
  as a real tensor (a complex state as its real and imaginary parts) that each step reads:
  ``states[t]`` is that tensor, ``outputs`` the readout of every state;
- ``gates`` (layers that have gates), ``state_size``, ``param_groups`` (the layers' own).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from bench import Architecture, linear_scan


def last_step(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x[b, lengths[b] - 1]`` for a ``[B, T, F]`` tensor."""
    return x[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]


class DiagonalLayer(nn.Module):
    """One layer: subclasses define ``prepare``, ``coefficients``, ``readout`` (and may
    define ``gates``, ``eigenvalues``, ``param_groups``)."""

    state_shape: tuple[int, ...]  # the state per sequence, without the batch
    complex_state: bool = False

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything the coefficients and the readout need from the input ``[B, T, F]``."""
        raise NotImplementedError

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``a`` and ``b``, each ``[B, T, *state_shape]`` (``a`` may be time-invariant: size 1 on T)."""
        raise NotImplementedError

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The layer's output ``[B, T, out]`` from its states ``[B, T, *state_shape]``."""
        raise NotImplementedError

    def gates(self, ctx: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {}

    @property
    def state_numbers(self) -> int:
        """Real numbers the recurrent state holds per sequence (a complex number is two)."""
        return math.prod(self.state_shape) * (2 if self.complex_state else 1)

    @property
    def carried(self) -> int:
        """Numbers carried from one step to the next: the state, and any buffer a layer keeps."""
        return self.state_numbers

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        ctx = self.prepare(u)
        return self.readout(linear_scan(*self.coefficients(ctx)), ctx)

    def unroll(self, u: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The states step by step, each a real ``[B, state_numbers]`` tensor that the next
        step reads; and the outputs computed from them."""
        ctx = self.prepare(u)
        a, b = self.coefficients(ctx)
        a, b = torch.broadcast_tensors(a, b)
        flat = u.new_zeros(u.shape[0], self.state_numbers)
        states = []
        for t in range(b.shape[1]):
            flat = self._flatten(a[:, t] * self._unflatten(flat) + b[:, t])
            states.append(flat)
        h = torch.stack([self._unflatten(s) for s in states], 1)
        return states, self.readout(h, ctx)

    def _flatten(self, h: torch.Tensor) -> torch.Tensor:
        if self.complex_state:
            h = torch.stack([h.real, h.imag], -1)
        return h.reshape(h.shape[0], -1)

    def _unflatten(self, flat: torch.Tensor) -> torch.Tensor:
        if self.complex_state:
            parts = flat.reshape(flat.shape[0], *self.state_shape, 2)
            return torch.complex(parts[..., 0], parts[..., 1])
        return flat.reshape(flat.shape[0], *self.state_shape)


class DiagonalEncoder(nn.Module):
    """A stack of diagonal layers meeting the encoder contract (see the module's docstring)."""

    def __init__(self, layers: list[DiagonalLayer], output_size: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.output_size = output_size
        self.state_size = sum(layer.carried for layer in layers)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return last_step(self.sequence(x, lengths), lengths)

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        for layer in self.layers[:-1]:
            x = layer(x)
        states, outputs = self.layers[-1].unroll(x)
        return last_step(outputs, lengths), states, outputs

    def gates(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        for layer in self.layers[:-1]:
            x = layer(x)
        top = self.layers[-1]
        return top.gates(top.prepare(x))

    def eigenvalues(self) -> torch.Tensor | None:
        """The recurrences' eigenvalues, every layer's (None for layers without fixed ones)."""
        found = [layer.eigenvalues().flatten() for layer in self.layers if hasattr(layer, "eigenvalues")]
        return torch.cat(found) if found else None

    def param_groups(self) -> list[dict[str, Any]]:
        groups: dict[tuple, list[nn.Parameter]] = {}
        for layer in self.layers:
            for group in getattr(layer, "param_groups", lambda: [])():
                settings = tuple(sorted((k, v) for k, v in group.items() if k != "params"))
                groups.setdefault(settings, []).extend(group["params"])
        return [{"params": params, **dict(settings)} for settings, params in groups.items()]


def diagonal_architecture(
    name: str,
    description: str,
    layer: Callable[..., DiagonalLayer],
    defaults: Mapping[str, Any],
    check: Callable[[Mapping[str, Any]], list[str]] | None = None,
) -> Architecture:
    """The `Architecture` of a stack of ``num_layers`` layers made by ``layer(input_size,
    hidden_size, **options)``; every layer but the first reads the one below it."""

    def build(input_size: int, hidden_size: int, num_layers: int = 1, **options: Any) -> DiagonalEncoder:
        layers = [layer(input_size if i == 0 else hidden_size, hidden_size, **options) for i in range(num_layers)]
        return DiagonalEncoder(layers, hidden_size)

    def check_options(options: Mapping[str, Any]) -> list[str]:
        problems = [] if options["num_layers"] >= 1 else [f"num_layers must be >= 1, got {options['num_layers']}"]
        return problems + (check(options) if check else [])

    return Architecture(
        name=name,
        description=description,
        factory=build,
        defaults={"num_layers": 1, **defaults},
        check_options=check_options,
    )
