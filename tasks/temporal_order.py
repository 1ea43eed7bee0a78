"""Built-in task plugin `temporal_order`: Hochreiter & Schmidhuber 1997, experiment 6a.

A sequence of ``T`` symbols starts with B and ends with E; in between are distractors
(a, b, c, d) and two relevant symbols, each X or Y, at random positions: the first in
[0.1 T, 0.2 T), the second in [0.5 T, 0.6 T) (10-20 and 50-60 for T = 100, as in the
paper). The class is their order: XX, XY, YX or YY. Chance is 25%; solved at >= 95%.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench import SequenceSet, Task, TaskData, hookimpl
from tasks.synthetic import PROBE_SIZES, PROBE_TRAINING, SPLITS, size_problems, split_generator

PAD, B, E, X, Y = 0, 1, 2, 3, 4
DISTRACTORS = (5, 6, 7, 8)  # a, b, c, d
VOCAB_SIZE = 9


def make_temporal_order(size: int, steps: int, generator: torch.Generator) -> SequenceSet:
    distractors = torch.tensor(DISTRACTORS)
    tokens = distractors[torch.randint(0, len(DISTRACTORS), (size, steps), generator=generator)]
    tokens[:, 0], tokens[:, -1] = B, E
    rows = torch.arange(size)
    first = _positions(size, 0.1, 0.2, steps, generator)
    second = _positions(size, 0.5, 0.6, steps, generator)
    symbols = torch.randint(0, 2, (size, 2), generator=generator)  # 0: X, 1: Y
    tokens[rows, first] = X + symbols[:, 0]
    tokens[rows, second] = X + symbols[:, 1]
    labels = 2 * symbols[:, 0] + symbols[:, 1]  # XX=0, XY=1, YX=2, YY=3
    return SequenceSet(tokens, torch.full((size,), steps, dtype=torch.long), labels)


def _positions(size: int, low: float, high: float, steps: int, generator: torch.Generator) -> torch.Tensor:
    start = max(1, int(low * steps))  # never on B
    stop = max(start + 1, int(high * steps))
    return torch.randint(start, stop, (size,), generator=generator)


class TemporalOrderTask(Task):
    name = "temporal_order"
    description = "Temporal order (Hochreiter & Schmidhuber 1997, 6a): classify the order of two far-apart symbols."
    kind = "classification"
    default_seeds = 3
    defaults = {
        "T": 100,  # sequence length
        **PROBE_SIZES,
    }
    train_defaults = PROBE_TRAINING
    solved_threshold = 0.95
    length_option = "T"

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = size_problems(self.name, options)
        if int(options["T"]) < 10:
            problems.append(f"temporal_order needs T >= 10 so that its two symbols sit apart, got T={options['T']}")
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        steps = int(options["T"])
        splits = {s: make_temporal_order(int(options[f"{s}_size"]), steps, split_generator(seed, s)) for s in SPLITS}
        return TaskData(**splits, num_outputs=4, vocab_size=VOCAB_SIZE, pad_index=PAD, info={"T": steps})

    def chance(self, data: TaskData) -> float:
        return 0.25


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [TemporalOrderTask()]
