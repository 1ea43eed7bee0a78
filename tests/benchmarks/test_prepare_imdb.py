"""IMDB preparation speed: rnnbench's pipeline against a straightforward pure-Python one
doing the same work with the same rules, cold, and the warm (cached) load.

    make bench-prepare     (needs the IMDB archive: RNNBENCH_DATA or ../shared/data)

Both cold pipelines read all 50,000 reviews from the archive, tokenise them with
basic_english, build the vocabulary on the training split and encode every review to
256 ids; their outputs are checked to be identical.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tasks.imdb_files import _MEMBER, parse_review
from tasks.imdb_prepare import PAD_INDEX, PipelineSettings, build, load
from tasks.text import basic_english_reference, build_vocab

ARCHIVE = Path(
    os.environ.get("RNNBENCH_DATA") or Path(__file__).resolve().parents[3] / "shared/data/aclImdb_v1_labelled.tar.gz"
)
pytestmark = pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"IMDB archive not found at {ARCHIVE}")
SETTINGS = PipelineSettings()


def straightforward(path: Path, settings: PipelineSettings) -> tuple[list[str], np.ndarray]:
    """The obvious implementation: tarfile, torchtext's regexes, Counter, dict lookups."""
    with tarfile.open(path) as archive:
        reviews = [
            parse_review(m.name, archive.extractfile(m).read(), path)
            for m in archive
            if m.isfile() and _MEMBER.search(m.name)
        ]
    reviews.sort(key=lambda r: (r.split, r.label, r.id))
    tokens = [basic_english_reference(r.text) for r in reviews]
    train = [t for r, t in zip(reviews, tokens, strict=True) if r.split == "train"]
    vocab = build_vocab(train, max_tokens=settings.max_tokens, min_freq=settings.min_freq)
    rows = []
    for review, review_tokens in zip(reviews, tokens, strict=True):
        if review.split == "train":
            ids = vocab.lookup(review_tokens[-settings.max_len :]) or [0]
            rows.append(ids + [PAD_INDEX] * (settings.max_len - len(ids)))
    return vocab.itos, np.array(rows, dtype=np.int32)


def test_outputs_are_identical():
    itos, ids = straightforward(ARCHIVE, SETTINGS)
    corpus = build(ARCHIVE, SETTINGS, workers=os.cpu_count() or 1)
    assert corpus.itos == itos
    assert np.array_equal(corpus.train.ids, ids)


@pytest.mark.benchmark(group="imdb-prepare-cold")
def test_cold_straightforward(benchmark):
    benchmark.extra_info["reviews"] = 50_000
    benchmark.pedantic(straightforward, args=(ARCHIVE, SETTINGS), rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.benchmark(group="imdb-prepare-cold")
def test_cold_rnnbench(benchmark):
    benchmark.extra_info["reviews"] = 50_000
    benchmark.extra_info["workers"] = os.cpu_count()
    benchmark.pedantic(build, args=(ARCHIVE, SETTINGS, os.cpu_count() or 1), rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.benchmark(group="imdb-prepare-warm")
def test_warm_cached_load(benchmark, tmp_path):
    load(ARCHIVE, SETTINGS, cache=tmp_path)
    corpus = benchmark(load, ARCHIVE, SETTINGS, cache=tmp_path)
    assert corpus.from_cache
