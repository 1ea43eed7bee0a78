"""The model of one cell: task input adapter -> architecture encoder -> task head."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from bench.architecture import Architecture, output_violation
from bench.block import build_encoder
from bench.cell import Cell
from bench.errors import PluginError
from bench.task import Task, TaskData


class SequenceModel(nn.Module):
    """adapter -> encoder -> head. ``per_position``: the head reads the encoder's output at
    every position (``encoder.sequence``), for tasks whose ``outputs`` is "sequence"."""

    def __init__(self, adapter: nn.Module, encoder: nn.Module, head: nn.Module, per_position: bool = False) -> None:
        super().__init__()
        self.adapter = adapter
        self.encoder = encoder
        self.head = head
        self.per_position = per_position

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.adapter(inputs)
        if self.per_position:
            return self.head(self.checked(self.encoder.sequence(x, lengths), x, per_position=True))
        return self.head(self.encode(x, lengths))

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder's final state, checked against the contract."""
        return self.checked(self.encoder(x, lengths), x)

    def checked(self, final: object, x: torch.Tensor, per_position: bool = False) -> torch.Tensor:
        """``final`` (``per_position``: the sequence output) if it is what the encoder
        contract promises for input ``x``; else a PluginError that says what came back and
        points to `rnnbench check`."""
        expected = (*x.shape[: 2 if per_position else 1], self.encoder.output_size)
        dtypes = {x.dtype}
        if torch.is_autocast_enabled(x.device.type):  # precision=bf16: the encoder may compute in it
            dtypes.add(torch.get_autocast_dtype(x.device.type))
        got = output_violation(final, expected, dtypes)
        if got is not None:
            wanted = " or ".join(sorted(str(dtype) for dtype in dtypes))
            raise PluginError(
                f"encoder {type(self.encoder).__name__} returned {got}; the contract is one {wanted} vector of "
                f"output_size={self.encoder.output_size} per {'position' if per_position else 'sequence'}, shape "
                f"{expected}. Run `rnnbench check`."
            )
        return final


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode (no dropout) for the block; its mode is restored after."""
    training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(training)


def build_model(task: Task, arch: Architecture, data: TaskData, cell: Cell) -> SequenceModel:
    run = cell.run
    adapter = task.input_adapter(data, run.embed_size, cell.task_options)
    encoder = build_encoder(arch, run.embed_size, run.hidden_size, cell.arch_options, run.block, run.blocks)
    head = task.head(data, encoder.output_size, cell.task_options)
    for part, module in (("input_adapter", adapter), ("head", head)):
        if not isinstance(module, nn.Module):
            raise PluginError(f"task '{task.name}': {part}() returned {type(module).__name__}, not an nn.Module")
    # tasks with outputs='sequence' were checked for encoder.sequence() when their cells were planned
    return SequenceModel(adapter, encoder, head, per_position=task.outputs == "sequence")
