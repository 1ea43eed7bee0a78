"""Built-in task plugin `mnist1d`: MNIST-1D (Greydanus 2020), ten 1-D digit templates passed
through random padding, translation, shear, scaling and noise, read one value per step
(T = 40).

The data are generated offline by the ``mnist1d`` package's own ``make_dataset`` (never
its download), with the paper's arguments by default: 5,000 sequences, 4,000 for training
and 1,000 for test, generated from seed 42, so that results compare with the paper's. The
validation split is held out from the training sequences, seeded by the run's seed.
``shuffle=true`` is the paper's "shuffle" variant (one fixed permutation of the 40 steps).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from bench import SequenceSet, Task, TaskData, hold_out, hookimpl

TRAIN_SPLIT = 0.8  # the share of the generated sequences make_dataset puts in training (the paper's)
SEED_LIMIT = 2**32  # numpy's seeds


def generate(num_samples: int, seed: int, shuffle: bool) -> dict[str, np.ndarray]:
    """The dataset of ``mnist1d.data.make_dataset`` with the paper's arguments, these three
    excepted. It seeds the global numpy and ``random`` generators; their state is restored."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.shuffle_seq = num_samples, seed, shuffle
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


class MNIST1D(Task):
    name = "mnist1d"
    description = "MNIST-1D (Greydanus 2020): 40-step 1-D digit signals, 10 classes."
    kind = "classification"
    defaults = {
        "num_samples": 5_000,  # generated sequences; the paper's 80/20 train/test split
        "data_seed": 42,  # the generator's seed: 42 is the paper's dataset
        "shuffle": False,  # the paper's "shuffle" variant: one fixed permutation of the steps
        "valid_fraction": 0.1,  # of the training sequences, held out for model selection (seeded)
    }
    train_defaults = {
        "embed_size": 16,  # each value is projected to this size
        "hidden_size": 128,
        "batch_size": 100,
        "lr": 2e-3,
        "max_steps": 6_000,
        "eval_every": 250,
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = []
        if int(options["num_samples"]) < 50:
            problems.append(
                f"mnist1d: num_samples must be >= 50 (ten classes, three splits), got {options['num_samples']}"
            )
        fraction = float(options["valid_fraction"])
        if not 0 < fraction < 1:
            problems.append(f"mnist1d: valid_fraction must lie in (0, 1), got {options['valid_fraction']}")
        elif int(options["num_samples"]) >= 50:
            training = int(int(options["num_samples"]) * TRAIN_SPLIT)
            if not 1 <= max(1, round(fraction * training)) < training:
                problems.append(
                    f"mnist1d: valid_fraction={fraction} of the {training} training sequences of num_samples="
                    f"{options['num_samples']} leaves none for training; lower it or generate more samples"
                )
        if not 0 <= int(options["data_seed"]) < SEED_LIMIT:
            problems.append(f"mnist1d: data_seed must be an integer in [0, 2**32), got {options['data_seed']}")
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        data = generate(int(options["num_samples"]), int(options["data_seed"]), bool(options["shuffle"]))
        x, y = torch.from_numpy(data["x"]).float(), torch.from_numpy(data["y"]).long()
        valid, kept = hold_out(len(x), max(1, round(float(options["valid_fraction"]) * len(x))), seed)

        def split(inputs: torch.Tensor, targets: torch.Tensor) -> SequenceSet:
            lengths = torch.full((len(inputs),), inputs.shape[1], dtype=torch.long)
            return SequenceSet(inputs.unsqueeze(-1), lengths, targets)

        test_x, test_y = torch.from_numpy(data["x_test"]).float(), torch.from_numpy(data["y_test"]).long()
        return TaskData(
            train=split(x[kept], y[kept]),
            valid=split(x[valid], y[valid]),
            test=split(test_x, test_y),
            num_outputs=10,
            num_features=1,
            info={"T": int(x.shape[1])},
        )


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [MNIST1D()]
