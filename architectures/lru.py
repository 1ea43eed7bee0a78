"""Built-in architecture plugin `lru`: the Linear Recurrent Unit (Orvieto, Smith, Gu, Fernando,
Gulcehre, Pascanu, De 2023, "Resurrecting Recurrent Neural Networks for Long Sequences").

    x_t = lambda * x_{t-1} + gamma * (B u_t),   y_t = Re(C x_t) + D u_t

with a diagonal complex lambda = exp(-exp(nu) + i exp(theta)), initialised uniformly on the
ring r_min <= |lambda| <= r_max with phases in [0, max_phase], and the normalisation gamma =
sqrt(1 - |lambda|^2). As in the paper's block, a GELU and a linear map follow each layer.

Initialisation as the paper's (its code's defaults: r_min 0, r_max 1, max_phase 2 pi; B and C
complex Gaussian scaled by 1/sqrt(2 * fan-in)); D is a linear map from the layer's input here
(the paper's is a diagonal skip, which needs the input to be as wide as the output). The
recurrence's parameters (nu, theta, gamma) train at half the run's learning rate and without
weight decay, as the paper trains them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from architectures.diagonal import DiagonalLayer, diagonal_architecture
from bench import Architecture, hookimpl

RECURRENT_LR_SCALE = 0.5  # the paper: the recurrent parameters at half the learning rate, no weight decay


class LRULayer(DiagonalLayer):
    complex_state = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        state: int = 0,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
    ) -> None:
        super().__init__()
        width = state or hidden_size
        self.state_shape = (width,)
        radius = torch.rand(width) * (r_max**2 - r_min**2) + r_min**2  # |lambda|^2, uniform on the ring
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(radius.clamp(min=1e-12))))
        self.theta_log = nn.Parameter(torch.log(max_phase * torch.rand(width).clamp(min=1e-6)))
        magnitude = torch.exp(-torch.exp(self.nu_log.detach()))
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt((1 - magnitude**2).clamp(min=1e-12))))
        self.B = nn.Parameter(torch.randn(width, input_size, 2) / math.sqrt(2 * input_size))
        self.C = nn.Parameter(torch.randn(hidden_size, width, 2) / math.sqrt(width))
        self.D = nn.Linear(input_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, hidden_size)

    def eigenvalues(self) -> torch.Tensor:
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        B = torch.view_as_complex(self.B.contiguous())
        return {"u": u, "Bu": torch.exp(self.gamma_log) * (u.to(B.dtype) @ B.T)}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.eigenvalues()[None, None, :], ctx["Bu"]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        C = torch.view_as_complex(self.C.contiguous())
        y = (h @ C.T).real + self.D(ctx["u"])
        return self.out(torch.nn.functional.gelu(y))

    def param_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "params": [self.nu_log, self.theta_log, self.gamma_log],
                "lr_scale": RECURRENT_LR_SCALE,
                "weight_decay": 0.0,
            }
        ]


def check(options: Mapping[str, Any]) -> list[str]:
    problems = []
    if not 0 <= options["r_min"] < options["r_max"] <= 1:
        problems.append(f"lru needs 0 <= r_min < r_max <= 1, got {options['r_min']} and {options['r_max']}")
    if options["state"] < 0:
        problems.append(f"lru: state must be >= 0 (0: as wide as hidden_size), got {options['state']}")
    return problems


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        diagonal_architecture(
            "lru",
            "Linear Recurrent Unit (Orvieto et al. 2023): a diagonal complex linear recurrence, ring-initialised.",
            LRULayer,
            {
                "state": 0,  # complex state per layer; 0: hidden_size
                "r_min": 0.0,  # the ring |lambda| is initialised on (the paper's code defaults)
                "r_max": 1.0,
                "max_phase": 2 * math.pi,
            },
            check,
        )
    ]
