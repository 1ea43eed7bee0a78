"""Built-in task plugin `imdb`: movie-review sentiment (Maas et al. 2011), sequence to one.

The seed lesson of this project: tokenise reviews, build a vocabulary on the training
split, embed the words, run a recurrent encoder, classify the final hidden state (read at
each review's own last token, never from padding). The test set is scored with the
weights that did best on a validation split carved from the training set.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench import ConfigError, SequenceSet, Task, TaskData, hold_out, hookimpl
from tasks.imdb_files import SPLITS, Review, download, locate, read_reviews
from tasks.imdb_prepare import PAD_INDEX, SPECIALS, EncodedSplit, PipelineSettings, load
from tasks.text import Vocab, basic_english, build_vocab


class IMDBTask(Task):
    name = "imdb"
    description = "IMDB movie-review sentiment (25k train / 25k test), classify the final state."
    kind = "classification"
    defaults = {
        "data": "",  # archive or aclImdb folder; empty: $RNNBENCH_DATA, then the download cache
        **{f.name: f.default for f in dataclasses.fields(PipelineSettings)},
        "valid_fraction": 0.1,  # of the training reviews, held out for model selection (seeded)
        "embed_dropout": 0.3,  # on word embeddings
        "head_dropout": 0.5,  # on the final state, before the classifier
        # Quick runs (lessons, smoke tests): train and test on a fixed random sample of the
        # reviews, the same for every run and seed; the vocabulary stays the full split's.
        "train_reviews": 0,  # 0: all 25,000 (before the validation hold-out)
        "test_reviews": 0,  # 0: all 25,000
    }
    added_later = ("train_reviews", "test_reviews")
    train_defaults = {
        "embed_size": 128,
        "hidden_size": 256,
        "batch_size": 64,
        "lr": 2e-3,
        "schedule": "cosine",  # decays to 0 over the budget; best-validation weights are tested
        "clip": 1.0,
        "epochs": 8,
        "probe_points": 2,
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        fraction = float(options["valid_fraction"])
        problems = [] if 0 < fraction < 1 else [f"imdb: valid_fraction must lie in (0, 1), got {fraction}"]
        for key in ("train_reviews", "test_reviews"):
            if int(options[key]) < 0:
                problems.append(f"imdb: {key} must be >= 0 (0: all of them), got {options[key]}")
        sample = int(options["train_reviews"])
        if sample and not 1 <= round(fraction * sample) < sample:
            problems.append(
                f"imdb: train_reviews={sample} leaves no review for validation or for training at "
                f"valid_fraction={fraction}; sample more reviews"
            )
        try:
            pipeline_settings(options)
        except ConfigError as exc:
            problems.append(str(exc))
        return problems

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        fraction = float(options["valid_fraction"])
        started = time.perf_counter()
        settings = pipeline_settings(options)
        path = locate(options["data"] or None)
        # as many tokenising processes as the cell has threads: its share of the machine
        corpus = load(path, settings, workers=torch.get_num_threads())
        seconds = time.perf_counter() - started

        train = _sample(_as_set(corpus.train), int(options["train_reviews"]))
        valid, kept = hold_out(len(train), round(fraction * len(train)), seed)
        return TaskData(
            train=_subset(train, kept),
            valid=_subset(train, valid),
            test=_sample(_as_set(corpus.test), int(options["test_reviews"])),
            num_outputs=2,
            vocab_size=len(corpus.itos),
            pad_index=PAD_INDEX,
            info={
                "source": str(Path(path).resolve()),
                "vocab_size": len(corpus.itos),
                "truncated_train_reviews": corpus.train.truncated,
                "mean_train_length": float(corpus.train.lengths.mean()),
                "prepared_from_cache": corpus.from_cache,
                "prepare_seconds": seconds,
            },
        )

    def download(self) -> str:
        return str(download())

    # --- the seed lesson's text pipeline, for scripts and notebooks (lesson 4) --------------
    # torchtext's semantics without torchtext (which no longer loads with current torch).

    def locate(self, data: str | None = None) -> Path:
        """Where the reviews are, found as a run finds them: ``data`` if given, else
        ``$RNNBENCH_DATA``, else the download cache. A DataError says how to get them."""
        return locate(data or None)

    def reviews(self, split: str, data: str | None = None) -> list[Review]:
        """The labelled reviews of ``split`` ("train" or "test"), each with ``.text`` and
        ``.label`` (0 negative, 1 positive), in the archive's order."""
        if split not in SPLITS:
            raise ConfigError(f"imdb: split must be one of {', '.join(SPLITS)}, got {split!r}")
        return [review for review in read_reviews(self.locate(data)) if review.split == split]

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """torchtext's ``get_tokenizer("basic_english")``: lower-case, split off punctuation."""
        return basic_english(text)

    @staticmethod
    def build_vocab(
        token_lists: Iterable[Iterable[str]],
        specials: Sequence[str] = SPECIALS,
        min_freq: int = 1,
        max_tokens: int | None = None,
    ) -> Vocab:
        """torchtext's ``build_vocab_from_iterator``: the specials first, then every token at
        least ``min_freq`` times by descending count (ties alphabetical), at most
        ``max_tokens`` entries in all. Unknown tokens map to ``specials[0]``, as after
        ``set_default_index(vocab["<unk>"])``."""
        return build_vocab(token_lists, specials, min_freq, max_tokens)

    def input_adapter(self, data: TaskData, embed_size: int, options: Mapping[str, Any]) -> nn.Module:
        return nn.Sequential(
            nn.Embedding(data.vocab_size, embed_size, padding_idx=data.pad_index),
            nn.Dropout(float(options["embed_dropout"])),
        )

    def head(self, data: TaskData, input_size: int, options: Mapping[str, Any]) -> nn.Module:
        return nn.Sequential(nn.Dropout(float(options["head_dropout"])), nn.Linear(input_size, data.num_outputs))


# The seed of the reviews `train_reviews` and `test_reviews` keep: the same for every run.
SAMPLE_SEED = 0


def _sample(data: SequenceSet, size: int) -> SequenceSet:
    """``size`` reviews drawn at random (all of them when ``size`` is 0 or too large), in their order."""
    if not 0 < size < len(data):
        return data
    keep, _ = hold_out(len(data), size, SAMPLE_SEED)
    return _subset(data, keep.sort().values)


def _as_set(split: EncodedSplit) -> SequenceSet:
    return SequenceSet(torch.from_numpy(split.ids), torch.from_numpy(split.lengths), torch.from_numpy(split.labels))


def _subset(data: SequenceSet, index: torch.Tensor) -> SequenceSet:
    return SequenceSet(data.inputs[index], data.lengths[index], data.targets[index])


def pipeline_settings(options: Mapping[str, Any]) -> PipelineSettings:
    """The task options that decide the prepared arrays (checked on construction)."""
    return PipelineSettings(**{f.name: options[f.name] for f in dataclasses.fields(PipelineSettings)})


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [IMDBTask()]
