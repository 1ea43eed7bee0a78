"""IndRNN (Li, Li, Cook, Zhu, Gao 2018, "Independently Recurrent Neural Network (IndRNN):
Building A Longer and Deeper RNN").

Each unit sees only its own past, through one recurrent weight:

    h_t = ReLU(W x_t + u * h_{t-1} + b)

so that |u| bounds how fast a unit's memory (and its gradient) fades. The paper initialises
u uniformly in [0, 1] for short tasks; ``recurrent_max`` lets a longer task ask for u close to
1 (the paper's bound |u| <= 2^(1/T)). The plain loop keeps the code next to the equation.
"""

from __future__ import annotations

import torch
from torch import nn

from bench import Architecture, hookimpl


class IndRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, recurrent_max: float = 1.0) -> None:
        super().__init__()
        self.output_size = hidden_size  # the contract: the size of the returned output
        self.state_size = num_layers * hidden_size  # optional: what a sequence carries between steps (--match state=N)
        self.inputs = nn.ModuleList(
            nn.Linear(input_size if i == 0 else hidden_size, hidden_size) for i in range(num_layers)
        )
        self.recurrent = nn.ParameterList(
            nn.Parameter(torch.rand(hidden_size) * recurrent_max) for _ in range(num_layers)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.unrolled(x, lengths)[0]

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The top layer's state at every position (optional: copy, selective_copy, mqar)."""
        return torch.stack(self.unrolled(x, lengths)[1], 1)

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        for linear, u in zip(self.inputs, self.recurrent, strict=True):
            projected = linear(x).unbind(1)
            h = x.new_zeros(x.shape[0], self.output_size)
            states = []
            for step in projected:  # h_t reads h_{t-1}: each state is on the recurrent path
                h = torch.relu(step + u * h)
                states.append(h)
            x = torch.stack(states, 1)
        # The recurrence runs forward, so padding after a sequence cannot change its state at
        # length - 1: read it there.
        final = x[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]
        return final, states


def check_options(options: dict) -> list[str]:
    problems = [] if options["num_layers"] >= 1 else [f"num_layers must be >= 1, got {options['num_layers']}"]
    if not options["recurrent_max"] > 0:
        problems.append(f"recurrent_max must be > 0, got {options['recurrent_max']}")
    return problems


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        Architecture(
            name="indrnn",
            description="IndRNN (Li et al. 2018): independent ReLU units, one recurrent weight each.",
            factory=IndRNN,
            defaults={"num_layers": 1, "recurrent_max": 1.0},
            check_options=check_options,
        )
    ]
