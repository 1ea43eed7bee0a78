"""The IMDB loader, preparation cache and task, on tiny generated data in the official layout."""

from __future__ import annotations

import gzip
import tarfile

import numpy as np
import pytest
import torch

from bench import ConfigError, DataError
from bench.cli import main
from bench.plugins import tasks
from tasks import imdb_files
from tasks.imdb_prepare import PAD_INDEX, PipelineSettings, load
from tasks.text import basic_english_reference
from tests.imdb_fixtures import (
    generated_reviews,
    independent_vocabulary_size,
    make_archive,
    make_folder,
    review_files,
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNBENCH_DATA", raising=False)


def tiny(per_class: int = 3) -> PipelineSettings:
    return PipelineSettings(max_len=6, reviews_per_split=2 * per_class)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_archive_reader_matches_tarfile_and_ignores_unsup(tmp_path, fmt):
    files = review_files()
    long_name = "aclImdb/train/pos/" + "9" * 120 + "_10.txt"  # beyond ustar's 100 characters
    if fmt != tarfile.USTAR_FORMAT:
        files[long_name] = "a long name"
    archive = make_archive(tmp_path / "a.tar.gz", files, fmt)
    reviews = imdb_files.read_reviews(archive)
    assert len(reviews) == 12 + (fmt != tarfile.USTAR_FORMAT)
    assert not any("unlabelled" in r.text for r in reviews)
    first = next(r for r in reviews if r.split == "train" and r.label == 1 and r.id == 1)
    assert first.rating == 8 and first.text.startswith("Loved it.")
    assert {r.rating for r in reviews if r.label == 0} <= {1, 2, 3, 4}
    with tarfile.open(archive) as reference:
        expected = {m.name for m in reference if m.isfile() and "unsup" not in m.name and m.name.endswith(".txt")}
    expected.discard("aclImdb/imdb.vocab")
    assert {name for name, _ in imdb_files.iter_documents(archive)} == expected


def test_folder_and_archive_give_the_same_corpus(tmp_path):
    files = review_files()
    from_archive = load(make_archive(tmp_path / "a.tar.gz", files), tiny(), cache=tmp_path / "c1")
    from_folder = load(make_folder(tmp_path / "x", files), tiny(), cache=tmp_path / "c2")
    assert from_archive.itos == from_folder.itos
    assert np.array_equal(from_archive.train.ids, from_folder.train.ids)
    assert np.array_equal(from_archive.test.labels, [0, 0, 0, 1, 1, 1])


def test_vocabulary_comes_from_the_training_split_only(tmp_path):
    corpus = load(make_archive(tmp_path / "a.tar.gz", review_files()), tiny(), cache=tmp_path / "c")
    assert "train0" in corpus.itos and "test0" not in corpus.itos
    assert corpus.itos[:2] == ["<unk>", "<pad>"]


def test_truncation_keeps_the_chosen_end_and_pads_after(tmp_path):
    files = review_files()
    files["aclImdb/train/pos/0_7.txt"] = "one two three four five six seven eight"
    archive = make_archive(tmp_path / "a.tar.gz", files)
    for keep, expected in (("last", ["three", "four", "five", "six", "seven", "eight"]), ("first", ["one", "two"])):
        corpus = load(archive, PipelineSettings(max_len=6, keep=keep, reviews_per_split=6), cache=tmp_path / keep)
        row = 3  # train: negatives (ids 0, 1, 2) first, then positives by id
        tokens = [corpus.itos[i] for i in corpus.train.ids[row][: corpus.train.lengths[row]]]
        assert tokens[: len(expected)] == expected
        assert corpus.train.lengths[row] == 6 and corpus.train.truncated >= 1
    short = int(np.argmin(corpus.train.lengths))
    assert (corpus.train.ids[short, corpus.train.lengths[short] :] == PAD_INDEX).all()


def test_cache_is_reused_and_invalidated_by_settings_and_data(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    cache = tmp_path / "cache"
    assert not load(archive, tiny(), cache=cache).from_cache
    assert load(archive, tiny(), cache=cache).from_cache
    assert not load(archive, PipelineSettings(max_len=5, reviews_per_split=6), cache=cache).from_cache
    assert not load(archive, PipelineSettings(max_len=6, min_freq=2, reviews_per_split=6), cache=cache).from_cache
    files = review_files()
    files["aclImdb/train/pos/0_7.txt"] = "changed review text"
    make_archive(archive, files)
    changed = load(archive, tiny(), cache=cache)
    assert not changed.from_cache and "changed" in changed.itos


def test_cache_files_hold_no_pickles(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    load(archive, tiny(), cache=tmp_path / "cache")
    (npz,) = (tmp_path / "cache").rglob("*.npz")
    with np.load(npz, allow_pickle=False) as arrays:  # raises if any entry needs pickle
        assert {"train_ids", "test_labels"} <= set(arrays.files)


def test_parallel_and_serial_preparation_agree(tmp_path):
    from tasks.imdb_prepare import build

    archive = make_archive(tmp_path / "a.tar.gz", review_files(per_class=40))
    settings = PipelineSettings(max_len=6, reviews_per_split=80)
    serial, parallel = build(archive, settings, workers=1), build(archive, settings, workers=2)
    assert serial.itos == parallel.itos
    assert np.array_equal(serial.train.ids, parallel.train.ids)


def test_no_data_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as error:
        imdb_files.locate()
    message = str(error.value)
    assert "IMDB data not found" in message and "download cache" in message
    assert "rnnbench data imdb" in message and "RNNBENCH_DATA" in message


def test_rnnbench_data_is_used(tmp_path, monkeypatch):
    archive = make_archive(tmp_path / "aclImdb_v1.tar.gz", review_files())
    monkeypatch.setenv("RNNBENCH_DATA", str(tmp_path))
    assert imdb_files.locate() == archive
    assert imdb_files.locate(tmp_path / "aclImdb_v1.tar.gz") == archive


def test_wrong_layout_is_explained(tmp_path):
    files = {k: v for k, v in review_files().items() if "/test/neg/" not in k}
    with pytest.raises(DataError, match="not in the official layout: missing test/neg"):
        imdb_files.read_reviews(make_folder(tmp_path, files))


def test_an_archive_of_something_else_is_explained(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", {"photos/cat.jpg": "meow"})
    with pytest.raises(DataError, match="no reviews in the official layout"):
        imdb_files.read_reviews(archive)


def test_truncated_archive_is_explained(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt.*rnnbench data imdb"):
        imdb_files.read_reviews(archive)


def test_corrupt_archive_is_explained(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    raw = bytearray(gzip.decompress(archive.read_bytes()))
    raw[100] ^= 0xFF  # inside the first header's name: its checksum no longer matches
    archive.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="bad header checksum"):
        imdb_files.read_reviews(archive)


def test_not_an_archive_is_explained(tmp_path):
    path = tmp_path / "aclImdb_v1.tar.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 50)
    with pytest.raises(DataError, match="cannot read the archive"):
        imdb_files.read_reviews(path)


def test_wrong_counts_are_explained(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    with pytest.raises(DataError, match="train split has 6 reviews .3 positive., expected 25000"):
        load(archive, PipelineSettings(), cache=tmp_path / "c")


def test_task_splits_validation_by_seed(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files(per_class=20))
    task = tasks().get("imdb")
    options = task.resolve_options({"data": str(archive), "reviews_per_split": 40, "max_len": 6})
    data = task.prepare(options, seed=1)
    again = task.prepare(options, seed=1)
    other = task.prepare(options, seed=2)
    assert (len(data.train), len(data.valid), len(data.test)) == (36, 4, 40)
    assert torch.equal(data.valid.inputs, again.valid.inputs)
    assert not torch.equal(data.valid.inputs, other.valid.inputs)
    assert data.vocab_size == data.info["vocab_size"] and data.pad_index == PAD_INDEX
    assert not data.info["prepared_from_cache"] and again.info["prepared_from_cache"]


def test_download_verifies_the_checksum(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files())
    good = imdb_files.file_md5(archive)
    target = tmp_path / "dl" / "aclImdb_v1.tar.gz"
    assert imdb_files.download(target, url=archive.as_uri(), md5=good) == target
    assert imdb_files.file_md5(target) == good
    with pytest.raises(DataError, match="expected 0+"):
        imdb_files.download(tmp_path / "dl2" / "x.tar.gz", url=archive.as_uri(), md5="0" * 32)
    assert not (tmp_path / "dl2" / "x.tar.gz").exists()


@pytest.mark.parametrize("content", [b"just some text, no archive\n" * 40, bytes(range(256)) * 4])
def test_a_file_that_is_no_archive_is_a_data_error_and_stores_no_cell(tmp_path, monkeypatch, capsys, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    monkeypatch.setenv("RNNBENCH_DATA", str(path))
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "imdb", "--seeds", "0", "--out", str(out), "--no-progress"]
    assert main([*args, "--set", "threads=1", "max_steps=2"]) == 2
    err = capsys.readouterr().err
    assert "not a tar archive" in err and str(path) in err
    assert not list((out / "cells").glob("*.json"))  # a data error is not a failed cell


def test_the_text_api_gives_torchtexts_vocabulary_size(tmp_path):
    """Lesson 4's "Vocabulary size: N": every distinct training token plus the two specials
    (no max_tokens), counted here independently: tarfile, torchtext's regexes, a set."""
    archive = make_archive(tmp_path / "a.tar.gz", generated_reviews(per_class=30))
    assert "<unk>" in {t for text in generated_reviews(30).values() for t in basic_english_reference(text)}

    imdb = tasks().get("imdb")
    reviews = imdb.reviews("train", data=str(archive))
    vocab = imdb.build_vocab(imdb.tokenize(review.text) for review in reviews)
    assert len(reviews) == 60 and {review.label for review in reviews} == {0, 1}
    assert len(vocab) == independent_vocabulary_size(archive)  # a literal <unk> is not counted twice
    assert vocab.itos[:2] == ["<unk>", "<pad>"] and vocab["never-seen"] == vocab["<unk>"] == 0
    capped = imdb.build_vocab((imdb.tokenize(review.text) for review in reviews), max_tokens=50)
    assert len(capped) == 50 and capped.itos[:50] == vocab.itos[:50]
    with pytest.raises(ConfigError, match="split must be one of train, test"):
        imdb.reviews("valid", data=str(archive))


def test_train_and_test_reviews_sample_the_same_reviews_for_every_seed(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", review_files(per_class=20))
    task = tasks().get("imdb")
    base = {"data": str(archive), "reviews_per_split": 40, "max_len": 6}
    options = task.resolve_options({**base, "train_reviews": 20, "test_reviews": 10})
    one, two = task.prepare(options, seed=1), task.prepare(options, seed=2)
    assert (len(one.train), len(one.valid), len(one.test)) == (18, 2, 10)
    assert torch.equal(one.test.inputs, two.test.inputs)  # one fixed sample, whatever the seed
    sampled = {tuple(row) for row in torch.cat([one.train.inputs, one.valid.inputs]).tolist()}
    assert sampled == {tuple(row) for row in torch.cat([two.train.inputs, two.valid.inputs]).tolist()}
    full = task.prepare(task.resolve_options(base), seed=1)
    assert one.vocab_size == full.vocab_size  # the vocabulary stays the full training split's
    assert task.check_options(task.resolve_options({**base, "train_reviews": 3})) == [
        "imdb: train_reviews=3 leaves no review for validation or for training at valid_fraction=0.1; "
        "sample more reviews"
    ]
    assert "test_reviews must be >= 0" in task.check_options(task.resolve_options({**base, "test_reviews": -1}))[0]
