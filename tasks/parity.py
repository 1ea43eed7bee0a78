"""Built-in task plugin `parity`: is the number of ones in a bit string odd? (A formal-language
task of xLSTM's, Beck et al. 2024, after Delétang et al. 2023's "Neural Networks and the
Chomsky Hierarchy".)

Every sequence is a random string of 0s and 1s, its length uniform in [1, T] (so a model
must answer at every length up to T, not count to one); the label is the parity of its ones.
A model must carry one bit of state, flipped by every 1, across the whole string; a linear
recurrence with real, positive decay cannot flip it, which is why the task separates them.
Trained at T and tested at longer T (`--set eval_lengths=...`), it asks whether a model
extrapolates: xLSTM's sLSTM does, its mLSTM alone does not. Chance is 50%; solved at 95%.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench import SequenceSet, Task, TaskData, hookimpl
from tasks.synthetic import PROBE_SIZES, PROBE_TRAINING, SPLITS, size_problems, split_generator

PAD, ZERO, ONE = 0, 1, 2  # token ids: padding, then the two bits


def make_parity(size: int, longest: int, generator: torch.Generator) -> SequenceSet:
    lengths = torch.randint(1, longest + 1, (size,), generator=generator)
    bits = torch.randint(0, 2, (size, longest), generator=generator)
    real = torch.arange(longest)[None, :] < lengths[:, None]
    bits = bits * real  # padding counts no ones
    tokens = torch.where(real, ZERO + bits, PAD)
    return SequenceSet(tokens, lengths, bits.sum(1) % 2)


class ParityTask(Task):
    name = "parity"
    description = "Parity: is the number of ones in a bit string (length up to T) odd? (xLSTM's formal task)"
    kind = "classification"
    default_seeds = 3
    defaults = {"T": 40, **PROBE_SIZES}  # the longest string; xLSTM trains up to 40 and tests beyond
    train_defaults = PROBE_TRAINING
    solved_threshold = 0.95
    length_option = "T"

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = size_problems(self.name, options)
        if int(options["T"]) < 1:
            problems.append(f"parity needs T >= 1, got T={options['T']}")
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        longest = int(options["T"])
        splits = {s: make_parity(int(options[f"{s}_size"]), longest, split_generator(seed, s)) for s in SPLITS}
        return TaskData(**splits, num_outputs=2, vocab_size=3, pad_index=PAD, info={"T": longest})

    def chance(self, data: TaskData) -> float:
        return 0.5  # odd and even are equally likely at every length


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [ParityTask()]
