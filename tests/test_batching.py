"""Length-bucketed batching."""

from __future__ import annotations

import torch

from bench.batching import batch_order, iterate_batches, padding_fraction
from bench.task import SequenceSet


def lengths_like_reviews(n: int = 5000) -> torch.Tensor:
    """A long-tailed length distribution, clipped at 256 like truncated reviews."""
    normal = torch.randn(n, generator=torch.Generator().manual_seed(0))
    return torch.exp(5.0 + 0.6 * normal).clamp(10, 256).long()


def test_every_sequence_appears_exactly_once():
    lengths = lengths_like_reviews(1000)
    order = torch.cat(batch_order(lengths, 64, torch.Generator().manual_seed(3)))
    assert sorted(order.tolist()) == list(range(1000))


def test_batches_are_deterministic_given_the_seed_and_differ_across_seeds():
    lengths = lengths_like_reviews(1000)
    first = batch_order(lengths, 64, torch.Generator().manual_seed(1))
    again = batch_order(lengths, 64, torch.Generator().manual_seed(1))
    other = batch_order(lengths, 64, torch.Generator().manual_seed(2))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_bucketing_wastes_little_padding():
    lengths = lengths_like_reviews()
    naive = padding_fraction(lengths, list(torch.randperm(len(lengths)).split(64)))
    bucketed = padding_fraction(lengths, batch_order(lengths, 64, torch.Generator().manual_seed(0)))
    assert naive > 0.15
    assert bucketed < 0.03


def test_batches_are_trimmed_to_their_longest_sequence():
    inputs = torch.arange(4 * 6).reshape(4, 6)
    data = SequenceSet(inputs, torch.tensor([2, 6, 3, 2]), torch.zeros(4, dtype=torch.long))
    batches = list(iterate_batches(data, 2))
    assert [b.inputs.shape[1] for b in batches] == [2, 6]
    assert [b.tokens for b in batches] == [4, 9]
