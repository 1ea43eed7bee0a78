"""Built-in task plugin `adding`: the adding problem.

Hochreiter & Schmidhuber 1997; Le et al. 2015; Bai et al. 2018. Each step has two inputs: a
value uniform in [0, 1] and a marker. Exactly two steps are marked, one in each half of the
sequence; the target is the sum of the two marked values. Always predicting 1 scores an MSE
of Var(U1 + U2) = 1/6 ~ 0.167; the task counts as solved below 0.01.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench import SequenceSet, Task, TaskData, hookimpl
from tasks.synthetic import PROBE_SIZES, PROBE_TRAINING, size_problems, split_generator


def make_adding(size: int, steps: int, generator: torch.Generator) -> SequenceSet:
    values = torch.rand(size, steps, generator=generator)
    half = steps // 2
    first = torch.randint(0, half, (size,), generator=generator)
    second = torch.randint(half, steps, (size,), generator=generator)
    markers = torch.zeros(size, steps)
    rows = torch.arange(size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    lengths = torch.full((size,), steps, dtype=torch.long)
    return SequenceSet(torch.stack([values, markers], -1), lengths, targets)


class AddingTask(Task):
    name = "adding"
    description = "Adding problem: regress the sum of two marked values far apart in a sequence."
    kind = "regression"
    default_seeds = 3
    defaults = {
        "T": 50,  # sequence length
        **PROBE_SIZES,
    }
    train_defaults = PROBE_TRAINING
    solved_threshold = 0.01  # test MSE
    length_option = "T"

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = size_problems(self.name, options)
        if int(options["T"]) < 2:
            problems.append(f"adding needs T >= 2 (one marker per half), got T={options['T']}")
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        steps = int(options["T"])
        splits = {
            split: make_adding(int(options[f"{split}_size"]), steps, split_generator(seed, split))
            for split in ("train", "valid", "test")
        }
        return TaskData(**splits, num_outputs=1, num_features=2, info={"T": steps})

    def chance(self, data: TaskData) -> float:
        """MSE of always predicting the mean target (1): Var(U1 + U2) = 1/6."""
        return 1 / 6


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [AddingTask()]
