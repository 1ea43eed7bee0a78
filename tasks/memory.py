"""The sequence-to-sequence memory tasks (registered by the plugins `copy`,
`selective_copy` and `mqar`): an output at several positions, read from the
encoder's per-position outputs (``sequence()``). Tokens: 0 is a blank (or noise), data
symbols are 1..alphabet, and one more id is the cue that asks for the answer. Targets are
`IGNORE` everywhere except where an answer is due; the metric is the accuracy there.

- `copy` (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): 10 symbols, T - 1 blanks,
  the cue, 10 blanks during which the 10 symbols are to be reproduced. Length T + 20.
- `selective_copy` (Gu & Dao 2023): k symbols at random positions among T noise tokens,
  then k cues during which they are to be reproduced in order. Length T + k.
- `mqar` (Arora et al. 2023, Zoology): N key-value pairs, blanks up to length T, then the N
  keys again in random order, each asking for its value. Length T.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from bench import Metric, SequenceSet, Task, TaskData
from bench.metrics import ACCURACY
from bench.task import IGNORE
from tasks.synthetic import PROBE_SIZES, PROBE_TRAINING, SPLITS, size_problems, split_generator

# Beside the accuracy over answer positions: the share of sequences whose answers are all
# right, which is what "the model copies" means (one wrong symbol of ten fails a sequence).
EXACT = Metric("exact", higher_is_better=True, low=0.0, high=1.0, scale=100.0, unit="%", decimals=1)


def make_copy(size: int, gap: int, symbols: int, alphabet: int, generator: torch.Generator) -> SequenceSet:
    length = gap + 2 * symbols
    data = torch.randint(1, alphabet + 1, (size, symbols), generator=generator)
    inputs = torch.zeros(size, length, dtype=torch.long)
    inputs[:, :symbols] = data
    inputs[:, symbols + gap - 1] = alphabet + 1  # the cue, after T - 1 blanks
    targets = torch.full((size, length), IGNORE, dtype=torch.long)
    targets[:, -symbols:] = data
    return SequenceSet(inputs, torch.full((size,), length), targets)


def make_selective_copy(size: int, noise: int, symbols: int, alphabet: int, generator: torch.Generator) -> SequenceSet:
    length = noise + symbols
    data = torch.randint(1, alphabet + 1, (size, symbols), generator=generator)
    # each row: `symbols` distinct positions among the first `noise`, in increasing order
    positions = torch.rand(size, noise, generator=generator).argsort(1)[:, :symbols].sort(1).values
    inputs = torch.zeros(size, length, dtype=torch.long)
    inputs.scatter_(1, positions, data)
    inputs[:, noise:] = alphabet + 1  # cues
    targets = torch.full((size, length), IGNORE, dtype=torch.long)
    targets[:, noise:] = data
    return SequenceSet(inputs, torch.full((size,), length), targets)


def make_mqar(size: int, length: int, pairs: int, keys: int, values: int, generator: torch.Generator) -> SequenceSet:
    key_ids = torch.rand(size, keys, generator=generator).argsort(1)[:, :pairs] + 1  # distinct keys 1..keys
    value_ids = torch.randint(keys + 1, keys + values + 1, (size, pairs), generator=generator)
    inputs = torch.zeros(size, length, dtype=torch.long)
    inputs[:, 0 : 2 * pairs : 2], inputs[:, 1 : 2 * pairs : 2] = key_ids, value_ids
    order = torch.rand(size, pairs, generator=generator).argsort(1)  # the queries' order
    inputs[:, length - pairs :] = key_ids.gather(1, order)
    targets = torch.full((size, length), IGNORE, dtype=torch.long)
    targets[:, length - pairs :] = value_ids.gather(1, order)
    return SequenceSet(inputs, torch.full((size,), length), targets)


class MemoryTask(Task):
    """What the three tasks share: token inputs, an answer at several positions, seeded splits."""

    kind = "classification"
    outputs = "sequence"
    default_seeds = 3
    train_defaults = PROBE_TRAINING
    solved_threshold = 0.95  # accuracy over the answer positions
    length_option = "T"
    metrics = (ACCURACY, EXACT)

    def make(self, options: Mapping[str, Any], size: int, generator: torch.Generator) -> SequenceSet:
        raise NotImplementedError

    def vocabulary(self, options: Mapping[str, Any]) -> int:
        return int(options["alphabet"]) + 2  # blank, the symbols, the cue

    def answers(self, options: Mapping[str, Any]) -> int:
        """How many values an answer position may take (the chance level is one in this)."""
        return int(options["alphabet"])

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = size_problems(self.name, options)
        problems += [f"{self.name} needs {key} >= 1, got {options[key]}" for key in self.positive if options[key] < 1]
        answers = self.answers(options)
        if answers >= 1 and 1 / answers >= self.solved_threshold:
            least = math.floor(1 / self.solved_threshold) + 1
            problems.append(
                f"{self.name}: with {answers} possible answer(s) guessing scores {1 / answers:.0%}, at or above the "
                f"solved threshold ({self.solved_threshold:.0%}): the task would be solved by chance. Give it at least "
                f"{least} answers to choose from"
            )
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        splits = {s: self.make(options, int(options[f"{s}_size"]), split_generator(seed, s)) for s in SPLITS}
        return TaskData(
            **splits,
            num_outputs=self.vocabulary(options),
            vocab_size=self.vocabulary(options),
            info={
                "T": int(options["T"]),
                "length": int(splits["train"].inputs.shape[1]),
                "answers": self.answers(options),
            },
        )

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The accuracy over answer positions (the headline), and whether all of them are right."""
        right = (output.argmax(-1) == target) | (target == IGNORE)
        return {"accuracy": self.score(output, target), "exact": right.all(1).float()}

    def chance(self, data: TaskData) -> float:
        """Guessing one of the equally likely answers: the best input-blind predictor."""
        return 1 / data.info["answers"]


class CopyTask(MemoryTask):
    name = "copy"
    description = "Copy memory: 10 symbols, T - 1 blanks and a cue, then reproduce the 10 (Arjovsky et al. 2016)."
    defaults = {"T": 50, "symbols": 10, "alphabet": 8, **PROBE_SIZES}
    positive = ("T", "symbols", "alphabet")

    def make(self, options, size, generator):
        return make_copy(size, int(options["T"]), int(options["symbols"]), int(options["alphabet"]), generator)


class SelectiveCopyTask(MemoryTask):
    name = "selective_copy"
    description = "Selective copy: k symbols scattered among T noise tokens, then output them in order (Gu & Dao)."
    defaults = {"T": 64, "symbols": 8, "alphabet": 8, **PROBE_SIZES}
    positive = ("T", "symbols", "alphabet")

    def check_options(self, options):
        problems = super().check_options(options)
        if int(options["symbols"]) > int(options["T"]):
            problems.append(f"selective_copy needs symbols <= T, got {options['symbols']} > {options['T']}")
        return problems

    def make(self, options, size, generator):
        return make_selective_copy(
            size, int(options["T"]), int(options["symbols"]), int(options["alphabet"]), generator
        )


class MQARTask(MemoryTask):
    name = "mqar"
    description = "Multi-query associative recall: N key-value pairs, then a query per key (Zoology)."
    defaults = {"T": 64, "pairs": 8, "keys": 16, "values": 16, **PROBE_SIZES}
    positive = ("T", "pairs", "keys", "values")

    def vocabulary(self, options):
        return int(options["keys"]) + int(options["values"]) + 1  # blank, keys, values

    def answers(self, options):
        return int(options["values"])

    def check_options(self, options):
        problems = super().check_options(options)
        if int(options["T"]) < 3 * int(options["pairs"]):
            problems.append(f"mqar needs T >= 3 x pairs (pairs, then queries), got T={options['T']}")
        if int(options["pairs"]) > int(options["keys"]):
            problems.append(f"mqar needs pairs <= keys (distinct keys), got {options['pairs']} > {options['keys']}")
        return problems

    def make(self, options, size, generator):
        return make_mqar(
            size,
            int(options["T"]),
            int(options["pairs"]),
            int(options["keys"]),
            int(options["values"]),
            generator,
        )
