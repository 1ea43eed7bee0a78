"""Turn the IMDB reviews into padded token-id matrices, and cache the result.

Cold: read, tokenise (`basic_english`), build the vocabulary on the training split only,
numericalise and truncate. Warm: load the cached arrays (``.npz`` without pickle, and the
vocabulary as JSON), keyed by the data's checksum and every pipeline setting.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from bench import ConfigError, atomic_write
from tasks.imdb_files import SPLITS, cache_home, check_counts, file_md5, iter_documents, no_reviews, parse_review
from tasks.text import basic_english, vocab_from_counts

PIPELINE_VERSION = 1  # bump when the output of `build` changes for the same settings
SPECIALS = ("<unk>", "<pad>")
PAD_INDEX = SPECIALS.index("<pad>")
CHUNK_DOCUMENTS = 1000  # reviews per unit of work sent to a tokenising process


@dataclass(frozen=True)
class PipelineSettings:
    max_len: int = 256  # tokens kept per review
    keep: str = "last"  # which end of a long review is kept: "first" or "last"
    max_tokens: int = 25_000  # vocabulary size, specials included
    min_freq: int = 1  # rarer tokens map to <unk>
    reviews_per_split: int = 25_000  # the count the data must have (a smaller copy is an error)

    def __post_init__(self) -> None:
        problems = []
        if self.keep not in ("first", "last"):
            problems.append(f"keep must be 'first' or 'last', got {self.keep!r}")
        if self.max_len < 1:
            problems.append(f"max_len must be >= 1, got {self.max_len}")
        if self.min_freq < 1:
            problems.append(f"min_freq must be >= 1, got {self.min_freq}")
        if self.max_tokens <= len(SPECIALS):
            problems.append(f"max_tokens must exceed the {len(SPECIALS)} special tokens, got {self.max_tokens}")
        if problems:
            raise ConfigError("imdb: " + "; ".join(problems))


@dataclass
class EncodedSplit:
    ids: np.ndarray  # int32 [N, max_len], padded with PAD_INDEX
    lengths: np.ndarray  # int64 [N], at least 1
    labels: np.ndarray  # int64 [N]
    ratings: np.ndarray  # int64 [N]
    truncated: int  # reviews longer than max_len


@dataclass
class Corpus:
    train: EncodedSplit
    test: EncodedSplit
    itos: list[str]
    from_cache: bool


@dataclass
class Shard:
    """Some of the reviews, tokenised, each token replaced by a shard-local id."""

    tokens: list[str]  # local id -> token
    flat: np.ndarray  # int32: every review's token ids, one review after another
    lengths: np.ndarray  # int64: tokens per review
    is_train: np.ndarray  # bool
    labels: np.ndarray
    ratings: np.ndarray
    review_ids: np.ndarray


class _Interner(dict):
    """token -> local id, handing out the next id to a new token (C speed for known ones)."""

    def __missing__(self, token: str) -> int:
        self[token] = index = len(self)
        return index


def tokenize_chunk(documents: list[tuple[str, bytes]], source: Path) -> Shard:
    """Parse, tokenise and intern some documents (runs in a worker process)."""
    reviews = [parse_review(name, data, source) for name, data in documents]
    token_lists = [basic_english(review.text) for review in reviews]
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    interner = _Interner()
    flat = np.fromiter(map(interner.__getitem__, chain.from_iterable(token_lists)), np.int32, int(lengths.sum()))

    def column(name: str) -> np.ndarray:
        return np.fromiter((getattr(r, name) for r in reviews), dtype=np.int64, count=len(reviews))

    is_train = np.fromiter((r.split == "train" for r in reviews), dtype=bool, count=len(reviews))
    return Shard(list(interner), flat, lengths, is_train, column("label"), column("rating"), column("id"))


def build(path: Path, settings: PipelineSettings, workers: int = 1) -> Corpus:
    """The cold path. This process streams the documents while ``workers`` processes
    tokenise chunks of them; the vocabulary comes from the training reviews' token counts;
    ids are then remapped, truncated and padded with numpy."""
    chunks = _chunked(iter_documents(path), CHUNK_DOCUMENTS)
    tokenize = functools.partial(tokenize_chunk, source=path)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # fork: workers start at once, with nothing to import
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            shards = list(pool.imap(tokenize, chunks))
    else:
        shards = [tokenize(chunk) for chunk in chunks]
    if not shards:
        raise no_reviews(path)

    counts: Counter[str] = Counter()
    for shard in shards:
        train_tokens = np.repeat(shard.is_train, shard.lengths)
        per_token = np.bincount(shard.flat[train_tokens], minlength=len(shard.tokens))
        counts.update({token: int(n) for token, n in zip(shard.tokens, per_token, strict=True) if n})
    vocab = vocab_from_counts(counts, SPECIALS, settings.min_freq, settings.max_tokens)
    unk = vocab.unk_index
    flat = np.concatenate(
        [np.array([vocab.stoi.get(t, unk) for t in shard.tokens], dtype=np.int32)[shard.flat] for shard in shards]
    )
    lengths = np.concatenate([shard.lengths for shard in shards])
    ends = np.cumsum(lengths)
    merged = {
        name: np.concatenate([getattr(shard, name) for shard in shards])
        for name in ("is_train", "labels", "ratings", "review_ids")
    }
    splits = {}
    for split, chosen in (("train", merged["is_train"]), ("test", ~merged["is_train"])):
        # the same order whatever the source or the number of shards: label, then review id
        order = np.flatnonzero(chosen)[np.lexsort((merged["review_ids"][chosen], merged["labels"][chosen]))]
        splits[split] = pad(flat, ends[order] - lengths[order], lengths[order], settings)
        splits[split].labels = merged["labels"][order]
        splits[split].ratings = merged["ratings"][order]
    return Corpus(splits["train"], splits["test"], vocab.itos, from_cache=False)


def _chunked(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def pad(flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray, settings: PipelineSettings) -> EncodedSplit:
    """Cut each review (``flat[start:start + length]``) to ``max_len`` tokens and pad it."""
    width = settings.max_len
    kept = np.clip(lengths, 1, width)  # an empty review still gets one step (an <unk>)
    offset = starts + (lengths - kept if settings.keep == "last" else 0)
    positions = offset[:, None] + np.arange(width)[None, :]
    real = np.arange(width)[None, :] < kept[:, None]
    ids = np.where(real, flat[np.minimum(positions, len(flat) - 1)], PAD_INDEX).astype(np.int32)
    ids[lengths == 0, 0] = SPECIALS.index("<unk>")
    empty = np.empty(0, dtype=np.int64)
    return EncodedSplit(ids, kept, empty, empty, int((lengths > width).sum()))


def load(path: Path, settings: PipelineSettings, cache: Path | None = None, workers: int = 1) -> Corpus:
    """The prepared corpus for ``path``: from the cache when it matches, else built and cached."""
    folder = (cache or cache_home() / "prepared") / cache_key(path, settings)
    if (folder / "vocab.json").exists():
        return _read_cache(folder)
    corpus = build(path, settings, workers)
    check_counts({"train": corpus.train.labels, "test": corpus.test.labels}, settings.reviews_per_split, path)
    _write_cache(folder, corpus, path, settings)
    return corpus


def cache_key(path: Path, settings: PipelineSettings) -> str:
    blob = json.dumps({"data": data_checksum(path), "settings": asdict(settings), "version": PIPELINE_VERSION})
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def data_checksum(path: Path) -> str:
    """MD5 of an archive (remembered by path, size and mtime), or of a folder's file listing."""
    if path.is_dir():
        digest = hashlib.md5()
        for file in sorted(path.rglob("*.txt")):
            if "unsup" not in file.parts:
                digest.update(f"{file.relative_to(path)}:{file.stat().st_size}\n".encode())
        return "listing-" + digest.hexdigest()
    stat = path.stat()
    memo_file = cache_home() / "checksums.json"
    memo_key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, json.JSONDecodeError):
        memo = {}
    if memo_key not in memo:
        memo[memo_key] = file_md5(path)
        atomic_write(memo_file, lambda temporary: temporary.write_text(json.dumps(memo)))
    return memo[memo_key]


def _write_cache(folder: Path, corpus: Corpus, source: Path, settings: PipelineSettings) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split in SPLITS:
        part = getattr(corpus, split)
        for name in ("ids", "lengths", "labels", "ratings"):
            arrays[f"{split}_{name}"] = getattr(part, name)
        arrays[f"{split}_truncated"] = np.array(part.truncated)
    atomic_write(folder / "arrays.npz", functools.partial(_save_arrays, arrays))
    meta = {"source": str(source), "settings": asdict(settings), "itos": corpus.itos}
    # written last: marks the cache complete
    atomic_write(folder / "vocab.json", lambda temporary: temporary.write_text(json.dumps(meta)))


def _save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    with open(path, "wb") as file:  # a file, not a name: np.savez would append ".npz" to the name
        np.savez(file, **arrays)


def _read_cache(folder: Path) -> Corpus:
    meta = json.loads((folder / "vocab.json").read_text())
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        splits = {
            split: EncodedSplit(
                *(arrays[f"{split}_{name}"] for name in ("ids", "lengths", "labels", "ratings")),
                truncated=int(arrays[f"{split}_truncated"]),
            )
            for split in SPLITS
        }
    return Corpus(splits["train"], splits["test"], meta["itos"], from_cache=True)
