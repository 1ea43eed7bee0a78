"""Built-in architecture plugin `mamba`: Mamba's selective SSM block (Gu & Dao 2023, "Mamba:
Linear-Time Sequence Modeling with Selective State Spaces"), in pure PyTorch.

    x, z = in_proj(u);  x = SiLU(causal depthwise conv(x))
    dt, B, C = from x (the selection: every step chooses its own step size and projections)
    h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t     (per channel, N real states)
    y_t = (C_t h_t + D x_t) * SiLU(z_t),  out_proj(y)

Initialisation as the paper's code: A = -(1 .. N) per channel (S4D-Real), D = 1, dt's bias
the inverse softplus of dt drawn log-uniformly in [0.001, 0.1], dt_proj's weight uniform in
+-dt_rank^-0.5; A and D without weight decay. The gate probe reads "retain", the share of the
state each step keeps (the mean of exp(dt A) over N: the selection at work), and SiLU's gate
sigmoid(z). The causal convolution's buffer (conv - 1 inputs per channel) is carried between
steps too and counts in the state size; the states `unrolled()` returns are the SSM's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from architectures.diagonal import DiagonalLayer, diagonal_architecture
from bench import Architecture, hookimpl


class MambaLayer(DiagonalLayer):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        state: int = 16,
        expand: int = 2,
        conv: int = 4,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
    ) -> None:
        super().__init__()
        inner = expand * hidden_size
        self.state_shape = (inner, state)
        self.conv_buffer = inner * (conv - 1)
        self.dt_rank = math.ceil(hidden_size / 16)
        self.in_proj = nn.Linear(input_size, 2 * inner)
        self.conv = nn.Conv1d(inner, inner, conv, groups=inner, padding=conv - 1)
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner)
        with torch.no_grad():
            bound = self.dt_rank**-0.5
            self.dt_proj.weight.uniform_(-bound, bound)
            dt = torch.exp(torch.rand(inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus(bias) = dt
        self.a_log = nn.Parameter(torch.log(torch.arange(1, state + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, hidden_size)

    @property
    def carried(self) -> int:
        return self.state_numbers + self.conv_buffer  # the convolution's last conv - 1 inputs too

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        x, z = self.in_proj(u).chunk(2, -1)
        steps = x.shape[1]
        x = F.silu(self.conv(x.transpose(1, 2))[..., :steps].transpose(1, 2))  # causal: the past only
        dt, B, C = self.x_proj(x).split([self.dt_rank, *(2 * [self.state_shape[1]])], -1)
        return {"x": x, "z": z, "dt": F.softplus(self.dt_proj(dt)), "B": B, "C": C}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        dt = ctx["dt"][..., None]
        decay = torch.exp(dt * -torch.exp(self.a_log))
        return decay, (dt * ctx["x"][..., None]) * ctx["B"][:, :, None, :]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        y = (h * ctx["C"][:, :, None, :]).sum(-1) + self.D * ctx["x"]
        return self.out_proj(y * F.silu(ctx["z"]))

    def gates(self, ctx: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        retain = torch.exp(ctx["dt"][..., None] * -torch.exp(self.a_log)).mean(-1)
        return {"retain": retain, "output": torch.sigmoid(ctx["z"])}

    def param_groups(self) -> list[dict[str, Any]]:
        return [{"params": [self.a_log, self.D], "weight_decay": 0.0}]


def check(options: Mapping[str, Any]) -> list[str]:
    problems = [
        f"mamba: {key} must be >= 1, got {options[key]}" for key in ("state", "expand", "conv") if options[key] < 1
    ]
    if not 0 < options["dt_min"] < options["dt_max"]:
        problems.append(f"mamba needs 0 < dt_min < dt_max, got {options['dt_min']} and {options['dt_max']}")
    return problems


def build_layer(input_size: int, hidden_size: int, **options: Any) -> MambaLayer:
    return MambaLayer(input_size, hidden_size, **options)


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        diagonal_architecture(
            "mamba",
            "Mamba's selective SSM block (Gu & Dao 2023): input-dependent dt, B, C; pure PyTorch.",
            build_layer,
            {"state": 16, "expand": 2, "conv": 4, "dt_min": 0.001, "dt_max": 0.1},  # the paper's defaults
            check,
        )
    ]
