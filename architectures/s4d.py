"""Built-in architecture plugin `s4d`: the diagonal state space model S4D (Gu, Gupta, Goel, Ré
2022, "On the Parameterization and Initialization of Diagonal State Space Models"), the
time-invariant baseline of the selective models.

Per channel of the layer's input (projected to hidden_size channels), N/2 complex states:

    x_t = exp(dt A) x_{t-1} + (exp(dt A) - 1) / A * B u_t,   y_t = 2 Re(C x_t) + D u_t

(zero-order-hold discretisation), then a GELU and a linear map, as in the paper's block.
Being time-invariant, the layer's output is a causal convolution of its input with the kernel
K_k = 2 Re(C exp(dt A)^k (exp(dt A) - 1) / A), so the states [B, T, H, N/2] are never
formed. The convolution is a product with the lower-triangular Toeplitz matrix of K, not the
paper's FFT: an FFT spreads round-off from the padding after a short sequence into its real
steps (1.8e-5 with the checker's garbage padding), and a causal encoder must not see them.
The gradient probe's `unrolled()` still steps the states one by one; the tests hold the two
equal.
S4D-Lin initialisation: A_n = -1/2 + i pi n, B = 1, C complex Gaussian, log dt uniform in
[log 0.001, log 0.1], D Gaussian. A and dt train at half the run's learning rate and without
weight decay (the paper's code trains them at 0.001 when the model's rate is higher; 0.001 is
half the run's default 2e-3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from architectures.diagonal import DiagonalLayer, diagonal_architecture
from bench import Architecture, hookimpl

SSM_LR_SCALE = 0.5


class S4DLayer(DiagonalLayer):
    complex_state = True

    def __init__(
        self, input_size: int, hidden_size: int, state: int = 64, dt_min: float = 0.001, dt_max: float = 0.1
    ) -> None:
        super().__init__()
        half = max(1, state // 2)  # complex states per channel: conjugate pairs of the real ones
        self.state_shape = (hidden_size, half)
        self.inp = nn.Linear(input_size, hidden_size)
        self.log_dt = nn.Parameter(torch.rand(hidden_size) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.log_a_real = nn.Parameter(torch.full((hidden_size, half), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(half, dtype=torch.float32).repeat(hidden_size, 1))
        self.C = nn.Parameter(torch.randn(hidden_size, half, 2) * math.sqrt(0.5))
        self.D = nn.Parameter(torch.randn(hidden_size))
        self.out = nn.Linear(hidden_size, hidden_size)

    def _dt_a(self) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.complex(-torch.exp(self.log_a_real), self.a_imag)
        return torch.exp(self.log_dt)[:, None] * a, a

    def eigenvalues(self) -> torch.Tensor:
        return torch.exp(self._dt_a()[0])

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        v = self.inp(u)
        steps = v.shape[1]
        dt_a, a = self._dt_a()
        C = torch.view_as_complex(self.C.contiguous())
        powers = torch.exp(dt_a[..., None] * torch.arange(steps, device=v.device))  # [H, N/2, T]
        kernel = 2 * (C * (torch.exp(dt_a) - 1) / a)[..., None].mul(powers).sum(1).real  # [H, T]
        lag = torch.arange(steps, device=v.device)
        lag = lag[:, None] - lag[None, :]  # t - s
        toeplitz = kernel[:, lag.clamp(min=0)] * (lag >= 0)  # [H, T, T]: K_{t-s} for s <= t, else exactly 0
        y = torch.matmul(toeplitz, v.permute(2, 1, 0))  # [H, T, B]
        return self._mix(y.permute(2, 1, 0), v)

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"v": self.inp(u)}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        dt_a, a = self._dt_a()
        decay = torch.exp(dt_a)
        gain = (decay - 1) / a  # B = 1
        return decay[None, None], gain[None, None] * ctx["v"][..., None]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        C = torch.view_as_complex(self.C.contiguous())
        return self._mix(2 * (h * C).sum(-1).real, ctx["v"])

    def _mix(self, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The layer's output from the SSM's output ``y`` and its input ``v``."""
        return self.out(torch.nn.functional.gelu(y + self.D * v))

    def param_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "params": [self.log_dt, self.log_a_real, self.a_imag],
                "lr_scale": SSM_LR_SCALE,
                "weight_decay": 0.0,
            }
        ]


def check(options: Mapping[str, Any]) -> list[str]:
    problems = [] if options["state"] >= 2 else [f"s4d: state must be >= 2, got {options['state']}"]
    if not 0 < options["dt_min"] < options["dt_max"]:
        problems.append(f"s4d needs 0 < dt_min < dt_max, got {options['dt_min']} and {options['dt_max']}")
    return problems


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        diagonal_architecture(
            "s4d",
            "S4D (Gu et al. 2022): a diagonal, time-invariant state space model (S4D-Lin).",
            S4DLayer,
            {"state": 64, "dt_min": 0.001, "dt_max": 0.1},  # N per channel; the range of the initial dt
            check,
        )
    ]
