"""Synthetic probe data: shapes, targets recomputed from the inputs, balance, determinism."""

from __future__ import annotations

import pytest
import torch

from bench import ConfigError
from bench.planner import expand
from bench.plugins import tasks

SMALL = {"train_size": 2000, "valid_size": 200, "test_size": 2000}


def prepare(name: str, seed: int = 0, **options):
    task = tasks().get(name)
    return task, task.prepare(task.resolve_options({**SMALL, **options}), seed)


@pytest.mark.parametrize("name", ["adding", "temporal_order", "recall", "parity"])
def test_same_seed_same_data_other_seed_other_data(name):
    _, first = prepare(name, seed=4, T=30)
    _, again = prepare(name, seed=4, T=30)
    _, other = prepare(name, seed=5, T=30)
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(first, split).inputs, getattr(again, split).inputs)
        assert torch.equal(getattr(first, split).targets, getattr(again, split).targets)
    assert not torch.equal(first.train.inputs, other.train.inputs)
    assert not torch.equal(first.train.inputs, first.test.inputs)  # splits are independent draws


@pytest.mark.parametrize("name", ["adding", "temporal_order", "recall"])
def test_every_split_has_length_T(name):
    _, data = prepare(name, T=37)
    for split in (data.train, data.valid, data.test):
        assert split.inputs.shape[1] == 37
        assert (split.lengths == 37).all()


def test_adding_markers_and_targets():
    task, data = prepare("adding", T=40)
    values, markers = data.train.inputs[..., 0], data.train.inputs[..., 1]
    assert data.train.inputs.shape == (2000, 40, 2)
    assert ((values >= 0) & (values <= 1)).all()
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :20].sum(1) == 1).all() and (markers[:, 20:].sum(1) == 1).all()
    torch.testing.assert_close(data.train.targets, (values * markers).sum(1))
    # the input-blind predictor "always 1" scores about 1/6, the stated chance level
    mse_of_one = ((data.test.targets - 1) ** 2).mean().item()
    assert abs(mse_of_one - task.chance(data)) < 0.015
    assert task.is_solved(0.009) and not task.is_solved(0.011)


def test_temporal_order_symbols_positions_and_labels():
    task, data = prepare("temporal_order", T=100)
    tokens = data.train.inputs
    assert (tokens[:, 0] == 1).all() and (tokens[:, -1] == 2).all()  # B ... E
    relevant = (tokens == 3) | (tokens == 4)  # X or Y
    assert (relevant.sum(1) == 2).all()
    positions = relevant.nonzero()[:, 1].view(-1, 2)
    assert ((positions[:, 0] >= 10) & (positions[:, 0] < 20)).all()
    assert ((positions[:, 1] >= 50) & (positions[:, 1] < 60)).all()
    symbols = tokens.gather(1, positions) - 3  # 0 for X, 1 for Y
    assert torch.equal(data.train.targets, 2 * symbols[:, 0] + symbols[:, 1])
    shares = torch.bincount(data.train.targets, minlength=4) / len(tokens)
    assert ((shares - 0.25).abs() < 0.04).all()
    assert task.chance(data) == 0.25


def test_recall_key_first_then_only_distractors():
    task, data = prepare("recall", T=25, K=5, distractors=3)
    tokens = data.train.inputs
    torch.testing.assert_close(tokens[:, 0] - 1, data.train.targets)
    assert ((tokens[:, 1:] >= 6) & (tokens[:, 1:] < 9)).all()  # the distractor alphabet
    shares = torch.bincount(data.train.targets, minlength=5) / len(tokens)
    assert ((shares - 0.2).abs() < 0.04).all()
    assert task.chance(data) == pytest.approx(0.2)
    assert data.vocab_size == 9


def test_parity_labels_count_the_ones_at_every_length_up_to_T():
    task, data = prepare("parity", T=12)
    split = data.train
    assert split.lengths.min() == 1 and split.lengths.max() == 12  # every length up to T
    real = torch.arange(12)[None, :] < split.lengths[:, None]
    assert ((split.inputs > 0) == real).all()  # real steps are bits, the rest padding
    assert torch.equal(split.targets, ((split.inputs == 2).sum(1) % 2))  # the parity of the ones
    assert 0.45 < split.targets.float().mean() < 0.55 and task.chance(data) == 0.5


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("adding", {"T": 1}),
        ("temporal_order", {"T": 5}),
        ("recall", {"K": 1}),
        ("adding", {"test_size": 0}),
        ("parity", {"T": 0}),
    ],
)
def test_impossible_settings_are_rejected_when_cells_are_planned(name, options):
    task = tasks().get(name)
    assert task.check_options(task.resolve_options({**SMALL, **options}))
    assert task.check_options(task.resolve_options(SMALL)) == []
    with pytest.raises(ConfigError, match=name):
        expand(["rnn"], [name], [0], options)
