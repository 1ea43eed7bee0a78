"""MNIST-1D, generated offline by the mnist1d package's make_dataset."""

from __future__ import annotations

import random

import numpy as np
import torch

import bench
from bench.cli import main
from tasks.mnist1d import generate


def prepare(seed: int = 0, **options):
    task = bench.get_task("mnist1d")
    return task.prepare(task.resolve_options({"num_samples": 500, **options}), seed)


def test_the_papers_dataset_by_default_and_deterministic_per_seed():
    data, again, other = prepare(), prepare(), prepare(seed=1)
    assert data.train.inputs.shape[1:] == (40, 1) and (data.train.lengths == 40).all()
    assert (len(data.train), len(data.valid), len(data.test)) == (360, 40, 100)  # 80/20, then 10% held out
    torch.testing.assert_close(data.train.inputs, again.train.inputs)
    torch.testing.assert_close(data.test.inputs, other.test.inputs)  # the dataset is the same for every seed,
    assert not torch.equal(data.valid.inputs, other.valid.inputs)  # the validation split is the seed's
    assert set(data.test.targets.tolist()) == set(range(10))


def test_chance_is_the_largest_class_share():
    data = prepare()
    task = bench.get_task("mnist1d")
    shares = torch.bincount(data.train.targets, minlength=10).float() / len(data.train)
    assert task.chance(data) == float(shares.max()) and 0.08 < task.chance(data) < 0.2


def test_generation_leaves_the_global_generators_alone():
    np.random.seed(123)
    random.seed(123)
    generate(100, 42, False)
    assert np.random.randint(1_000_000) == np.random.RandomState(123).randint(1_000_000)
    assert random.random() == random.Random(123).random()


def test_shuffle_permutes_the_steps():
    plain, shuffled = generate(100, 42, False), generate(100, 42, True)
    assert plain["x"].shape == shuffled["x"].shape and not np.allclose(plain["x"], shuffled["x"])
    assert (plain["y"] == shuffled["y"]).all()


def test_a_tiny_model_runs_end_to_end(tmp_path):
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "mnist1d", "--seeds", "0", "--out", str(out), "--no-progress"]
    settings = ["num_samples=200", "threads=1", "max_steps=6", "eval_every=3", "hidden_size=8"]
    assert main([*args, "--set", *settings]) == 0
    assert bench.load_results(out).loc[0, "status"] == "ok"
