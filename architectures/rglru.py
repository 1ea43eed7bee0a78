"""Built-in architecture plugin `rglru`: the Real-Gated Linear Recurrent Unit of Hawk and
Griffin (De et al. 2024, "Griffin: Mixing Gated Linear Recurrences with Local Attention").

    r_t = sigmoid(W_a x_t),  i_t = sigmoid(W_x x_t),  a_t = sigma(Lambda)^(c r_t)   (c = 8)
    h_t = a_t h_{t-1} + sqrt(1 - a_t^2) (i_t x_t)

inside the paper's recurrent block: the input is projected to two branches, one through the
RG-LRU, the other through a GELU, multiplied, and projected back. Lambda is initialised so
that a^c is uniform in [0.9, 0.999], as the paper does. The paper's block also has a short
convolution before the RG-LRU; it is left out here (the layer is the RG-LRU itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from architectures.diagonal import DiagonalLayer, diagonal_architecture
from bench import Architecture, hookimpl


class RGLRULayer(DiagonalLayer):
    def __init__(
        self, input_size: int, hidden_size: int, c: float = 8.0, a_min: float = 0.9, a_max: float = 0.999
    ) -> None:
        super().__init__()
        self.state_shape = (hidden_size,)
        self.c = c
        self.proj = nn.Linear(input_size, 2 * hidden_size)
        self.gate_a = nn.Linear(hidden_size, hidden_size)
        self.gate_x = nn.Linear(hidden_size, hidden_size)
        base = (torch.rand(hidden_size) * (a_max - a_min) + a_min) ** (1 / c)  # a, with a^c uniform
        self.lam = nn.Parameter(torch.log(base / (1 - base)))
        self.out = nn.Linear(hidden_size, hidden_size)

    def prepare(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        x, branch = self.proj(u).chunk(2, -1)
        r, i = torch.sigmoid(self.gate_a(x)), torch.sigmoid(self.gate_x(x))
        log_a = -self.c * r * F.softplus(-self.lam)  # log(sigma(Lambda)^(c r))
        return {"x": x, "branch": branch, "r": r, "i": i, "a": torch.exp(log_a)}

    def coefficients(self, ctx: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        a = ctx["a"]
        return a, torch.sqrt((1 - a**2).clamp(min=1e-12)) * ctx["i"] * ctx["x"]

    def readout(self, h: torch.Tensor, ctx: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.out(h * F.gelu(ctx["branch"]))

    def gates(self, ctx: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"recurrence": ctx["r"], "input": ctx["i"]}


def check(options: Mapping[str, Any]) -> list[str]:
    problems = [] if options["c"] > 0 else [f"rglru: c must be > 0, got {options['c']}"]
    if not 0 < options["a_min"] < options["a_max"] < 1:
        problems.append(f"rglru needs 0 < a_min < a_max < 1, got {options['a_min']} and {options['a_max']}")
    return problems


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        diagonal_architecture(
            "rglru",
            "RG-LRU (De et al. 2024, Hawk/Griffin): a real gated diagonal recurrence in its gated block.",
            RGLRULayer,
            {"c": 8.0, "a_min": 0.9, "a_max": 0.999},  # the paper's constant and initial range of a^c
            check,
        )
    ]
