"""Built-in architecture plugins `slstm` and `mlstm` (Beck, Pöppel, Spanring, Auer, Prudnikova,
Kopp, Klambauer, Brandstetter, Hochreiter 2024, "xLSTM: Extended Long Short-Term Memory").

Both use exponential input gating with a stabiliser state m (so that exp never overflows):

    m_t = max(log f_t + m_{t-1}, log i_t),  i'_t = exp(log i_t - m_t),  f'_t = exp(log f_t + m_{t-1} - m_t)

- sLSTM: a scalar memory with a normaliser and recurrent connections (h_{t-1} feeds every gate):
  c_t = f' c_{t-1} + i' tanh(z_t),  n_t = f' n_{t-1} + i',  h_t = o_t c_t / n_t;
  its state is (h, c, n, m), 4H numbers per layer.
- mLSTM: a matrix memory per head, written with the outer product of value and key and read
  with a query: C_t = f' C_{t-1} + i' v_t k_t^T,  n_t = f' n_{t-1} + i' k_t,
  h_t = o_t * C_t q_t / max(|n_t^T q_t|, exp(-m_t)); no recurrent connection to the gates,
  a state of heads * (d^2 + d + 1) numbers, where d = hidden_size is each head's width.

The forget gates are sigmoid ones (log f = log sigmoid), their biases initialised in
linspace(3, 6) as the paper's code does; the input gates' biases start at 0. Each runs step
by step (the mLSTM's parallel form is not used): `unrolled()` is `forward`'s own loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from architectures.diagonal import last_step
from bench import Architecture, hookimpl

FORGET_BIAS = (3.0, 6.0)  # the forget gates' initial biases, spread over this range


def stabilised(log_i: torch.Tensor, log_f: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The stabiliser's new value and the stabilised input and forget gates (each in (0, 1])."""
    m_new = torch.maximum(log_f + m, log_i)
    return m_new, torch.exp(log_i - m_new), torch.exp(log_f + m - m_new)


class XLSTMEncoder(nn.Module):
    """A stack of layers, each run step by step; subclasses define ``step`` and the sizes."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.unrolled(x, lengths)[0]

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.unrolled(x, lengths)[2]

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        for layer in range(len(self.layers)):
            states, x = self._layer(layer, x)
        return last_step(x, lengths), states, x

    def gates(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        collected: dict[str, list[torch.Tensor]] = {}
        for layer in range(len(self.layers)):
            top = layer == len(self.layers) - 1
            _, x = self._layer(layer, x, collected if top else None)
        return {name: torch.stack(values, 1) for name, values in collected.items()}

    def _layer(
        self, layer: int, x: torch.Tensor, gates: dict[str, list[torch.Tensor]] | None = None
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        projected = self.layers[layer]["input"](x).unbind(1)
        state = x.new_zeros(x.shape[0], self.state_width)
        states, outputs = [], []
        for t in range(len(projected)):
            state, h, step_gates = self.step(layer, projected[t], state)
            states.append(state)
            outputs.append(h)
            if gates is not None:
                for name, value in step_gates.items():
                    gates.setdefault(name, []).append(value)
        return states, torch.stack(outputs, 1)


class SLSTM(XLSTMEncoder):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__(hidden_size)
        self.hidden = hidden_size
        self.state_width = 4 * hidden_size  # h, c, n, m
        self.state_size = num_layers * self.state_width
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                {
                    "input": nn.Linear(input_size if i == 0 else hidden_size, 4 * hidden_size),
                    "recurrent": nn.Linear(hidden_size, 4 * hidden_size, bias=False),
                }
            )
            for i in range(num_layers)
        )
        with torch.no_grad():
            for layer in self.layers:  # gate order: z, i, f, o
                layer["input"].bias[: 2 * hidden_size].zero_()
                layer["input"].bias[2 * hidden_size : 3 * hidden_size].copy_(torch.linspace(*FORGET_BIAS, hidden_size))

    def step(self, layer: int, projected: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h, c, n, m = state.chunk(4, -1)
        z, log_i, f, o = (projected + self.layers[layer]["recurrent"](h)).chunk(4, -1)
        m, i, f = stabilised(log_i, F.logsigmoid(f), m)
        c = f * c + i * torch.tanh(z)
        n = f * n + i
        o = torch.sigmoid(o)
        state = torch.cat([o * c / n.clamp(min=1e-6), c, n, m], -1)
        return state, state[:, : self.hidden], {"input": i, "forget": f, "output": o}  # the output reads the state


class MLSTM(XLSTMEncoder):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, heads: int = 1) -> None:
        # hidden_size is each head's width d (so that every hidden unit adds parameters and
        # state, which --match needs); the output is heads * d wide
        super().__init__(heads * hidden_size)
        self.heads, self.d = heads, hidden_size
        hidden_size = heads * hidden_size
        self.state_width = heads * (self.d * self.d + self.d + 1)  # C, n, m per head
        self.state_size = num_layers * self.state_width
        self.layers = nn.ModuleList(
            nn.ModuleDict({"input": nn.Linear(input_size if i == 0 else hidden_size, 4 * hidden_size + 2 * heads)})
            for i in range(num_layers)
        )
        with torch.no_grad():
            for layer in self.layers:  # q, k, v, o, then the input and forget gates per head
                bias = layer["input"].bias
                bias[4 * hidden_size :].zero_()
                bias[4 * hidden_size + heads :].copy_(torch.linspace(*FORGET_BIAS, heads))

    def step(self, layer: int, projected: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        B, heads, d = state.shape[0], self.heads, self.d
        C, n, m = state.split([heads * d * d, heads * d, heads], -1)
        C, n = C.view(B, heads, d, d), n.view(B, heads, d)
        q, k, v, o, log_i, f = projected.split([heads * d] * 4 + [heads, heads], -1)
        q, k, v = (part.view(B, heads, d) for part in (q, k, v))
        k = k / math.sqrt(d)
        m, i, f = stabilised(log_i, F.logsigmoid(f), m)
        C = f[..., None, None] * C + i[..., None, None] * v[..., :, None] * k[..., None, :]
        n = f[..., None] * n + i[..., None] * k
        state = torch.cat([C.reshape(B, -1), n.reshape(B, -1), m], -1)
        # the output reads the new state itself (the tensor the next step reads), with this step's query
        C, n, m = state.split([heads * d * d, heads * d, heads], -1)
        C, n = C.view(B, heads, d, d), n.view(B, heads, d)
        denominator = torch.maximum((n * q).sum(-1).abs(), torch.exp(-m))[..., None]
        o = torch.sigmoid(o)
        h = o * ((C @ q[..., None])[..., 0] / denominator).reshape(B, heads * d)
        return state, h, {"input": i, "forget": f, "output": o}


def check_mlstm(options: Mapping[str, Any]) -> list[str]:
    return [] if options["heads"] >= 1 else [f"mlstm: heads must be >= 1, got {options['heads']}"]


def check_layers(options: Mapping[str, Any]) -> list[str]:
    return [] if options["num_layers"] >= 1 else [f"num_layers must be >= 1, got {options['num_layers']}"]


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        Architecture(
            "slstm",
            "sLSTM (Beck et al. 2024): exponential gating, a normaliser and recurrent gate connections.",
            SLSTM,
            {"num_layers": 1},
            check_layers,
        ),
        Architecture(
            "mlstm",
            "mLSTM (Beck et al. 2024): a matrix memory per head, written key by value, read by query.",
            MLSTM,
            {"num_layers": 1, "heads": 1},  # heads of width hidden_size each
            lambda options: check_layers(options) + check_mlstm(options),
        ),
    ]
