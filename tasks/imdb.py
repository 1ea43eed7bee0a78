"""Built-in task plugin `imdb`: movie-review sentiment (Maas et al. 2011), sequence to one.

The seed lesson of this project: tokenise reviews, build a vocabulary on the training
split, embed the words, run a recurrent encoder, classify the final hidden state (read at
each review's own last token, never from padding). The test set is scored with the
weights that did best on a validation split carved from the training set.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench import ConfigError, SequenceSet, Task, TaskData, hookimpl
from tasks.imdb_files import download, locate
from tasks.imdb_prepare import PAD_INDEX, EncodedSplit, PipelineSettings, load


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
    }
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

        train = _as_set(corpus.train)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
        held_out = round(fraction * len(train))
        valid, kept = order[:held_out], order[held_out:]
        return TaskData(
            train=_subset(train, kept),
            valid=_subset(train, valid),
            test=_as_set(corpus.test),
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

    def input_adapter(self, data: TaskData, embed_size: int, options: Mapping[str, Any]) -> nn.Module:
        return nn.Sequential(
            nn.Embedding(data.vocab_size, embed_size, padding_idx=data.pad_index),
            nn.Dropout(float(options["embed_dropout"])),
        )

    def head(self, data: TaskData, input_size: int, options: Mapping[str, Any]) -> nn.Module:
        return nn.Sequential(nn.Dropout(float(options["head_dropout"])), nn.Linear(input_size, data.num_outputs))


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
