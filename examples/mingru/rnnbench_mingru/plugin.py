"""minGRU (Feng, Tung, Ahmed, Bengio, Hajimirsadeghi 2024, "Were RNNs All We Needed?").

A GRU whose gate and candidate depend on the input only:

    z_t = sigmoid(W_z x_t),   h~_t = W_h x_t,   h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

Because nothing but the mixing reads h_{t-1}, the whole sequence can be computed with a
parallel scan; this example keeps the plain loop so that the code reads like the equations.
"""

from __future__ import annotations

import torch
from torch import nn

from bench import Architecture, hookimpl


class MinGRU(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.output_size = hidden_size  # the contract: the size of the returned state
        self.state_size = hidden_size  # optional: the state carried between steps (--match state=N)
        self.layers = nn.ModuleList(
            nn.Linear(input_size if i == 0 else hidden_size, 2 * hidden_size) for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.unrolled(x, lengths)[0]

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The top layer's state at every position (optional: copy, selective_copy, mqar)."""
        return torch.stack(self.unrolled(x, lengths)[1], 1)

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        for layer in self.layers:
            gate, candidate = layer(x).chunk(2, dim=-1)
            z = torch.sigmoid(gate)
            h = x.new_zeros(x.shape[0], self.output_size)
            states = []
            for t in range(x.shape[1]):  # h_t reads h_{t-1}: each state is on the recurrent path
                h = (1 - z[:, t]) * h + z[:, t] * candidate[:, t]
                states.append(h)
            x = torch.stack(states, 1)
        # The recurrence runs forward, so padding after a sequence cannot change its state at
        # length - 1: read it there.
        final = x[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]
        return final, states


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        Architecture(
            name="mingru",
            description="minGRU (Feng et al. 2024): a GRU with input-only gates, parallelisable.",
            factory=MinGRU,
            defaults={"num_layers": 1},
        )
    ]
