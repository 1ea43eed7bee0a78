"""One shared block, so that a comparison can hold the wrapper fixed: `--set block=residual`
runs any architecture, built-in or plugin, inside the residual block modern recurrences are
used in (pre-norm; Mamba, Griffin, xLSTM), ``blocks`` of them stacked:

    u = Linear(x)                                 (to the encoder's output width, once)
    per block:  u = u + encoder(LayerNorm(u))      (the architecture, every position)
                u = u + MLP(LayerNorm(u))          (GELU, 2x wide)
    final = u at each sequence's own last step

With ``block=none`` (the default) the encoder runs bare, as classic RNNs are stacked. The
wrapper meets the encoder contract itself: its states are the top block's encoder's (on the
recurrent path), its outputs the block's; gates, eigenvalues, parameter groups and the
state size are its encoders'. Each block needs the architecture's ``sequence()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from bench.architecture import Architecture, sequence_method, tokens_order, unroll


def build_encoder(
    arch: Architecture, input_size: int, hidden_size: int, options: Mapping[str, Any], block: str, blocks: int
) -> nn.Module:
    """The architecture's encoder, bare or inside ``blocks`` residual blocks."""
    if block == "none":
        return arch.build(input_size, hidden_size, **options)
    width = _width(arch, hidden_size, options)
    return ResidualBlocks([arch.build(width, hidden_size, **options) for _ in range(blocks)], input_size)


def _width(arch: Architecture, hidden_size: int, options: Mapping[str, Any]) -> int:
    """The block's width: the encoder's output size (built once on the meta device to read it)."""
    with torch.device("meta"):
        return arch.build(1, hidden_size, **options).output_size


class ResidualBlocks(nn.Module):
    def __init__(self, encoders: list[nn.Module], input_size: int) -> None:
        super().__init__()
        width = encoders[0].output_size
        self.output_size = width
        self.inp = nn.Linear(input_size, width)
        self.encoders = nn.ModuleList(encoders)
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in encoders)
        self.mlp_norms = nn.ModuleList(nn.LayerNorm(width) for _ in encoders)
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)) for _ in encoders
        )
        sizes = [getattr(encoder, "state_size", None) for encoder in encoders]
        if all(isinstance(size, int) for size in sizes):
            self.state_size = sum(sizes)
        self.directions = getattr(encoders[-1], "directions", 1)

    def _blocks(self, u: torch.Tensor, lengths: torch.Tensor, count: int) -> torch.Tensor:
        for i in range(count):
            u = u + self.encoders[i].sequence(self.norms[i](u), lengths)
            u = u + self.mlps[i](self.mlp_norms[i](u))
        return u

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self._blocks(self.inp(x), lengths, len(self.encoders))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        u = self.sequence(x, lengths)
        return u[torch.arange(len(u), device=u.device), lengths.to(u.device) - 1]

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor):
        """The top block's encoder step by step: its states, and the block's outputs from them."""
        lengths = lengths.to(x.device)
        u = self._blocks(self.inp(x), lengths, len(self.encoders) - 1)
        top = len(self.encoders) - 1
        unrolled = unroll(self.encoders[top], self.norms[top](u), lengths)
        outputs = unrolled.outputs
        if outputs is None:
            outputs = tokens_order(unrolled.states, lengths, self.directions)
        u = u + outputs
        u = u + self.mlps[top](self.mlp_norms[top](u))
        return u[torch.arange(len(u), device=u.device), lengths - 1], unrolled.states, u

    def gates(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        top = len(self.encoders) - 1
        method = getattr(self.encoders[top], "gates", None)
        if not callable(method):
            return {}
        u = self._blocks(self.inp(x), lengths, top)
        return method(self.norms[top](u), lengths)

    def eigenvalues(self) -> torch.Tensor | None:
        found = [e.eigenvalues() for e in self.encoders if callable(getattr(e, "eigenvalues", None))]
        found = [f.flatten() for f in found if f is not None]
        return torch.cat(found) if found else None

    def param_groups(self) -> list[dict[str, Any]]:
        return [
            group for e in self.encoders if callable(getattr(e, "param_groups", None)) for group in e.param_groups()
        ]


def block_problems(arch: Architecture, hidden_size: int, options: Mapping[str, Any], block: str) -> list[str]:
    """Why ``arch`` cannot run in ``block`` (it needs sequence(), and unrolled() to be probed)."""
    if block == "none":
        return []
    with torch.device("meta"):
        encoder = arch.build(1, hidden_size, **options)
    if sequence_method(encoder) is None:
        return [f"block={block} runs '{arch.name}' at every position: it needs sequence() (docs/plugins.md)"]
    return []
