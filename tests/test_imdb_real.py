"""On the real Large Movie Review Dataset, when present beside the checkout (skipped otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import bench
from bench.batching import batch_order, padding_fraction
from tasks.imdb_prepare import PipelineSettings, load

ARCHIVE = Path(
    os.environ.get("RNNBENCH_DATA") or Path(__file__).resolve().parents[2] / "shared/data/aclImdb_v1_labelled.tar.gz"
)
pytestmark = pytest.mark.skipif(not ARCHIVE.exists(), reason=f"IMDB data not found at {ARCHIVE}")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("imdb-cache")


@pytest.fixture(scope="module")
def corpus(cache):
    return load(ARCHIVE, PipelineSettings(), cache=cache, workers=2)


def test_full_dataset_counts_and_balance(corpus):
    for split in (corpus.train, corpus.test):
        assert split.ids.shape == (25_000, 256)
        assert int(split.labels.sum()) == 12_500
        assert set(split.ratings[split.labels == 1]) <= set(range(7, 11))
        assert set(split.ratings[split.labels == 0]) <= set(range(1, 5))
    assert len(corpus.itos) == 25_000


def test_bucketing_wastes_under_three_percent_where_naive_padding_wastes_a_quarter(corpus):
    lengths = torch.from_numpy(corpus.train.lengths)
    naive = 1 - lengths.sum().item() / (len(lengths) * 256)
    bucketed = padding_fraction(lengths, batch_order(lengths, 64, torch.Generator().manual_seed(0)))
    assert naive > 0.2
    assert bucketed < 0.03


def test_short_training_run_beats_chance_clearly(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNBENCH_CACHE", str(cache.parent / "task-cache"))
    overrides = {
        "data": str(ARCHIVE),
        "max_len": 128,
        "embed_size": 64,
        "hidden_size": 64,
        "max_steps": 400,
        "eval_every": 400,
        "schedule": "constant",
        "probe_points": 0,
        "threads": 1,
    }
    frame = bench.run("gru", "imdb", seeds=0, overrides=overrides, out=tmp_path)
    assert frame.loc[0, "status"] == "ok"
    assert frame.loc[0, "test_accuracy"] > 0.65  # chance is 0.5 on the balanced test set
