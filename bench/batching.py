"""Length-bucketed batches, so little compute goes to padding.

Training: shuffle, cut into pools of ``POOL_BATCHES`` batches, sort each pool by length,
cut it into batches, shuffle the batches. Evaluation: sort everything by length. Each batch
is trimmed to its longest sequence. Deterministic given the generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from bench.task import SequenceSet

# Batches per sorting pool: larger pools waste less padding but mix lengths less randomly.
POOL_BATCHES = 50


@dataclass
class Batch:
    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor

    @property
    def tokens(self) -> int:
        """Real (unpadded) timesteps in the batch."""
        return int(self.lengths.sum())

    def to(self, device: torch.device) -> Batch:
        non_blocking = device.type == "cuda"
        return Batch(
            self.inputs.to(device, non_blocking=non_blocking),
            self.lengths.to(device, non_blocking=non_blocking),
            self.targets.to(device, non_blocking=non_blocking),
        )


def batch_order(lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Index tensors, one per batch. With a generator: shuffled buckets; without: sorted."""
    if generator is None:
        order = torch.sort(lengths, stable=True).indices
        return list(order.split(batch_size))
    order = torch.randperm(len(lengths), generator=generator)
    batches = []
    for pool in order.split(batch_size * POOL_BATCHES):
        pool = pool[torch.sort(lengths[pool], stable=True).indices]
        batches.extend(pool.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def iterate_batches(data: SequenceSet, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Batch]:
    """Batches of ``data`` trimmed to their longest sequence (see `batch_order`)."""
    for index in batch_order(data.lengths, batch_size, generator):
        lengths = data.lengths[index]
        longest = int(lengths.max())
        targets = data.targets[index, :longest] if data.targets.dim() == 2 else data.targets[index]
        yield Batch(data.inputs[index, :longest], lengths, targets)


def padding_fraction(lengths: torch.Tensor, batches: list[torch.Tensor]) -> float:
    """Share of padded timesteps when ``lengths`` are batched as ``batches``."""
    padded = sum(int(lengths[index].max()) * len(index) for index in batches)
    return 1.0 - int(lengths.sum()) / padded if padded else 0.0


def first_sequences(split: SequenceSet, count: int) -> Batch:
    """The first ``count`` sequences of a split as one batch, trimmed to the longest: the
    same batch every time a probe reads it."""
    lengths = split.lengths[:count]
    longest = int(lengths.max())
    targets = split.targets[:count, :longest] if split.targets.dim() == 2 else split.targets[:count]
    return Batch(split.inputs[:count, :longest], lengths, targets)
