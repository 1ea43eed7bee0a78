"""The recurrent encoder behind the built-in plugins: torch's fused RNN/GRU/LSTM kernels on a
post-padded batch, reading each sequence's exact final state.

- Forward direction: run the fused kernel over the padded batch and gather the output at
  ``length - 1``; the padding comes after it and cannot influence it.
- Backward direction: reverse each sequence *within its own length* (padding stays at the
  end), run the fused kernel, gather at ``length - 1`` again.

This is exact and avoids ``pack_padded_sequence``, which is an order of magnitude slower on
CPU. ``unrolled()`` recomputes the same function step by step with the same weights, so the
per-step states are real nodes of the recurrence (for gradient probes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from bench import Architecture

FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def reverse_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``long[B, T]`` index that reverses each sequence within its length, padding in place."""
    t = torch.arange(steps, device=lengths.device)
    idx = lengths[:, None] - 1 - t[None, :]
    return torch.where(idx >= 0, idx, t[None, :])


def gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[b, index[b, t]]`` for a ``[B, T, F]`` tensor."""
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[-1]))


def last_step(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x[b, lengths[b] - 1]`` for a ``[B, T, F]`` tensor."""
    return x[torch.arange(x.shape[0], device=x.device), lengths - 1]


class RecurrentEncoder(nn.Module):
    """Stacked (bi)directional RNN/GRU/LSTM with the exact-final-state contract."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        forget_bias: float | None = None,
    ) -> None:
        super().__init__()
        if cell not in FUSED:
            raise ValueError(f"cell must be one of {sorted(FUSED)}, got {cell!r}")
        if num_layers < 1 or hidden_size < 1:
            raise ValueError("num_layers and hidden_size must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.cell = cell
        self.hidden_size = hidden_size
        self.directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.directions
        # what a sequence carries between steps: h per layer and direction, and an LSTM's c
        self.state_size = num_layers * self.directions * hidden_size * (2 if cell == "lstm" else 1)
        # One single-layer fused module per (layer, direction): a bidirectional layer must
        # see each direction's input reversed within its own length, which torch's
        # bidirectional flag cannot do on a padded batch.
        self.layers = nn.ModuleList(
            nn.ModuleList(
                FUSED[cell](input_size if layer == 0 else self.output_size, hidden_size, batch_first=True)
                for _ in range(self.directions)
            )
            for layer in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout)  # between layers, as torch's `dropout` argument
        if forget_bias is not None and cell == "lstm":
            self._set_forget_bias(forget_bias)

    def _set_forget_bias(self, value: float) -> None:
        h = self.hidden_size
        with torch.no_grad():
            for layer in self.layers:
                for module in layer:
                    # gates are ordered (input, forget, cell, output); the two biases add up
                    module.bias_ih_l0[h : 2 * h].fill_(value)
                    module.bias_hh_l0[h : 2 * h].zero_()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(x.device)
        h = self.sequence(x, lengths)
        if self.directions == 1:
            return last_step(h, lengths)
        size = self.hidden_size
        # the backward direction ends at token 0, after reading the whole sequence
        return torch.cat([last_step(h[..., :size], lengths), h[:, 0, size:]], -1)

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The top layer's output at every position, ``[B, T, D*H]`` in token order: for a
        bidirectional encoder, position t holds both directions' states for token t."""
        lengths = lengths.to(x.device)
        reverse = reverse_index(lengths, x.shape[1]) if self.directions == 2 else None
        h = x
        for i, layer in enumerate(self.layers):
            if i:
                h = self.dropout(h)
            outputs = [layer[0](h)[0]]
            if reverse is not None:
                backward = layer[1](gather_steps(h, reverse))[0]  # processing order
                outputs.append(gather_steps(backward, reverse))  # back to token order
            h = torch.cat(outputs, -1) if len(outputs) > 1 else outputs[0]
        return h

    def unrolled(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]] | tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Same function step by step; ``states[t]`` of the top layer lie on the recurrent path.
        An LSTM's state is (h, c) per direction, ``[h_fwd, c_fwd, h_bwd, c_bwd]``: the memory
        cell is where it keeps its gradient, so the probes measure it; its outputs (h, in token
        order) come third. A tanh RNN's or GRU's state is its output h."""
        final, states, outputs = self._unroll(x, lengths)
        return (final, states, outputs) if self.cell == "lstm" else (final, states)

    def gates(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """The top layer's gate activations at every step, ``[B, T, D*H]`` in processing order
        (as ``unrolled()``'s states): an LSTM's input, forget and output gates, a GRU's update
        and reset gates; a tanh RNN has none."""
        collected: dict[str, list[list[torch.Tensor]]] = {}
        self._unroll(x, lengths, collected)
        return {name: torch.stack([torch.cat(parts, -1) for parts in steps], 1) for name, steps in collected.items()}

    def _unroll(
        self, x: torch.Tensor, lengths: torch.Tensor, gates: dict[str, list[list[torch.Tensor]]] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """The final output, the top layer's states (processing order) and its outputs (token order)."""
        lengths = lengths.to(x.device)
        reverse = reverse_index(lengths, x.shape[1]) if self.directions == 2 else None
        h = x
        for i, layer in enumerate(self.layers):
            if i:
                h = self.dropout(h)
            inputs = [h] if reverse is None else [h, gather_steps(h, reverse)]
            top = i == len(self.layers) - 1
            states = self._unroll_layer(layer, inputs, gates if top else None)
            # processing order, each direction's h side by side (an LSTM's c left out)
            sequence = torch.cat([part[..., : self.hidden_size] for part in self._by_direction(states)], -1)
            if reverse is None:
                h = sequence
            else:
                size = self.hidden_size
                h = torch.cat([sequence[..., :size], gather_steps(sequence[..., size:], reverse)], -1)
        # In processing order every direction reads its last real token at step length - 1.
        return last_step(sequence, lengths), states, h

    def _by_direction(self, states: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The layer's states ``[B, T, width]`` of each direction, in processing order."""
        return torch.stack(states, 1).chunk(self.directions, -1)

    def _unroll_layer(
        self, layer: nn.ModuleList, inputs: list[torch.Tensor], gates: dict[str, list[list[torch.Tensor]]] | None
    ) -> list[torch.Tensor]:
        """The layer's joint state at every step, each direction's (h) or (h, c) side by side;
        ``gates`` (when given) collects, per gate, one list per step of each direction's
        activations."""
        size = self.hidden_size
        width = 2 * size if self.cell == "lstm" else size  # one direction's state
        batch, steps, _ = inputs[0].shape
        # Input projections of all steps at once, then the recurrence one step at a time.
        # unbind, not [:, t]: indexing would make each step's backward fill a whole [B, T, G]
        # gradient, quadratic in T.
        projected = [
            torch.nn.functional.linear(inp, module.weight_ih_l0, module.bias_ih_l0).unbind(1)
            for module, inp in zip(layer, inputs, strict=True)
        ]
        joint = inputs[0].new_zeros(batch, width * len(layer))
        states = []
        for t in range(steps):
            new = []
            activations: dict[str, torch.Tensor] = {}
            for d, module in enumerate(layer):
                # h and c are read from the joint state, so that it lies on the recurrent path
                h_prev = joint[:, d * width : d * width + size]
                c_prev = joint[:, d * width + size : (d + 1) * width]
                recurrent = torch.nn.functional.linear(h_prev, module.weight_hh_l0, module.bias_hh_l0)
                h_new, c_new = self._step(projected[d][t], recurrent, h_prev, c_prev, activations)
                new.extend([h_new, c_new] if self.cell == "lstm" else [h_new])
                if gates is not None:
                    for name, value in activations.items():
                        per_step = gates.setdefault(name, [])
                        if d == 0:
                            per_step.append([])
                        per_step[t].append(value)
            joint = torch.cat(new, -1) if len(new) > 1 else new[0]
            states.append(joint)
        return states

    def _step(
        self,
        projected: torch.Tensor,
        recurrent: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        gates: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of torch's cell equations (gate order as in torch's fused weights); the
        gate activations are left in ``gates``."""
        if self.cell == "rnn":
            return torch.tanh(projected + recurrent), c
        if self.cell == "gru":
            x_r, x_z, x_n = projected.chunk(3, -1)
            h_r, h_z, h_n = recurrent.chunk(3, -1)
            gates["reset"] = r = torch.sigmoid(x_r + h_r)
            gates["update"] = z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            return (1 - z) * n + z * h, c
        i, f, g, o = (projected + recurrent).chunk(4, -1)
        gates["input"], gates["forget"], gates["output"] = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
        c = gates["forget"] * c + gates["input"] * torch.tanh(g)
        return gates["output"] * torch.tanh(c), c


def recurrent_architecture(name: str, cell: str, description: str, bidirectional: bool = False) -> Architecture:
    """The `Architecture` of a built-in plugin: options shared by all cells, plus LSTM's bias."""
    defaults: dict[str, object] = {
        "num_layers": 1,  # stacked recurrent layers
        "dropout": 0.0,  # between stacked layers; no effect with one layer
    }
    if cell == "lstm":
        # Gers et al. 2000 and Jozefowicz et al. 2015: a forget-gate bias of 1 keeps memory
        # (and gradient) alive at initialisation. None keeps torch's default initialisation.
        defaults["forget_bias"] = 1.0

    def build(input_size: int, hidden_size: int, **options: object) -> RecurrentEncoder:
        return RecurrentEncoder(cell, input_size, hidden_size, bidirectional=bidirectional, **options)

    return Architecture(
        name=name, description=description, factory=build, defaults=defaults, check_options=check_options
    )


def check_options(options: Mapping[str, Any]) -> list[str]:
    """The built-in encoders' option ranges, checked before any cell runs."""
    problems = []
    if not isinstance(options["num_layers"], int) or options["num_layers"] < 1:
        problems.append(f"num_layers must be an integer >= 1, got {options['num_layers']!r}")
    if not 0.0 <= options["dropout"] < 1.0:  # NaN fails this too
        problems.append(f"dropout must lie in [0, 1), got {options['dropout']!r}")
    bias = options.get("forget_bias")
    if bias is not None and not math.isfinite(bias):
        problems.append(f"forget_bias must be a finite number or none, got {bias!r}")
    return problems
