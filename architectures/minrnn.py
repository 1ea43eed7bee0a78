"""Built-in architecture plugins `mingru` and `minlstm` (Feng, Tung, Ahmed, Bengio,
Hajimirsadeghi 2024, "Were RNNs All We Needed?"): a GRU and an LSTM whose gates and
candidate read the input only, so that the recurrence is a diagonal linear one, computed by the
shared scan (`bench.linear_scan`) instead of a Python loop over steps:

    minGRU:  z_t = sigmoid(W_z x_t),  h~_t = W_h x_t,  h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM: f_t, i_t = sigmoid(W_f x_t), sigmoid(W_i x_t), normalised to f'_t + i'_t = 1,
             h_t = f'_t h_{t-1} + i'_t h~_t

Initialisation: torch's default for the linear maps, as the paper's reference code. The paper
also gives a log-space form (for numerical range over very long sequences); this is the plain
form, whose scan runs in float32 here.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from architectures.diagonal import DiagonalLayer, diagonal_architecture
from bench import Architecture, hookimpl


class MinGRULayer(DiagonalLayer):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.state_shape = (hidden_size,)
        self.linear = nn.Linear(input_size, 2 * hidden_size)

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        gate, candidate = self.linear(u).chunk(2, -1)
        return {"z": torch.sigmoid(gate), "candidate": candidate}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return 1 - ctx["z"], ctx["z"] * ctx["candidate"]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return h

    def gates(self, ctx: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"update": ctx["z"]}


class MinLSTMLayer(DiagonalLayer):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.state_shape = (hidden_size,)
        self.linear = nn.Linear(input_size, 3 * hidden_size)

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        forget, write, candidate = self.linear(u).chunk(3, -1)
        f, i = torch.sigmoid(forget), torch.sigmoid(write)
        return {"forget": f / (f + i), "input": i / (f + i), "candidate": candidate}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return ctx["forget"], ctx["input"] * ctx["candidate"]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return h

    def gates(self, ctx: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"forget": ctx["forget"], "input": ctx["input"]}


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        diagonal_architecture(
            "mingru", "minGRU (Feng et al. 2024): a GRU with input-only gates, by the linear scan.", MinGRULayer, {}
        ),
        diagonal_architecture(
            "minlstm", "minLSTM (Feng et al. 2024): an LSTM with input-only, normalised gates.", MinLSTMLayer, {}
        ),
    ]
