"""Built-in task plugin `recall`: delayed recall of the first token.

The first token is one of ``K`` keys; ``T - 1`` distractors follow, drawn from a separate
alphabet of ``distractors`` symbols (by default a single "blank"); the label is the key. Nothing after the first step
carries information, so a model must hold the key for ``T - 1`` steps, and the gradient
that would teach it to do so must travel back just as far. Chance is 1/K; solved at >= 95%.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench import SequenceSet, Task, TaskData, hookimpl
from tasks.synthetic import PROBE_SIZES, PROBE_TRAINING, SPLITS, size_problems, split_generator

PAD = 0


def make_recall(size: int, steps: int, keys: int, distractors: int, generator: torch.Generator) -> SequenceSet:
    labels = torch.randint(0, keys, (size,), generator=generator)
    first_distractor = 1 + keys
    tokens = first_distractor + torch.randint(0, distractors, (size, steps), generator=generator)
    tokens[:, 0] = 1 + labels
    return SequenceSet(tokens, torch.full((size,), steps, dtype=torch.long), labels)


class RecallTask(Task):
    name = "recall"
    description = "Delayed recall: remember the first of T tokens, behind T-1 distractors."
    kind = "classification"
    default_seeds = 3
    defaults = {
        "T": 50,  # sequence length, key included
        "K": 4,  # distinct keys (chance is 1/K)
        # Distinct distractor symbols. 1 is a constant blank, as in the copy-memory task. With
        # 4 random symbols every architecture stayed at chance at T=50 in 3,000 steps (seed 0);
        # with the blank, rnn, lstm and gru all solved T=20 and only gru solved T=50.
        "distractors": 1,
        **PROBE_SIZES,
    }
    train_defaults = PROBE_TRAINING
    solved_threshold = 0.95
    length_option = "T"

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = size_problems(self.name, options)
        steps, keys, distractors = int(options["T"]), int(options["K"]), int(options["distractors"])
        if steps < 2 or keys < 2 or distractors < 1:
            problems.append(
                f"recall needs T >= 2, K >= 2, distractors >= 1; got T={steps}, K={keys}, distractors={distractors}"
            )
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        steps, keys, distractors = int(options["T"]), int(options["K"]), int(options["distractors"])
        splits = {
            s: make_recall(int(options[f"{s}_size"]), steps, keys, distractors, split_generator(seed, s))
            for s in SPLITS
        }
        vocab = 1 + keys + distractors
        return TaskData(**splits, num_outputs=keys, vocab_size=vocab, pad_index=PAD, info={"T": steps})

    def chance(self, data: TaskData) -> float:
        return 1 / data.num_outputs


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [RecallTask()]
