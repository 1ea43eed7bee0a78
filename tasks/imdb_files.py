"""The Large Movie Review Dataset (Maas et al. 2011) on disk: find it, read it, fetch it.

Official layout: ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, either inside the
original ``aclImdb_v1.tar.gz`` (streamed, never extracted) or as an extracted folder. The
unlabelled ``train/unsup`` folder is ignored.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tarfile
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from bench import DataError

URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
ARCHIVE_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"  # of the official archive
SPLITS = ("train", "test")
LABELS = {"neg": 0, "pos": 1}
# Names the data may have inside a data folder (the labelled-only repack shares the layout).
CANDIDATES = (ARCHIVE_NAME, "aclImdb_v1_labelled.tar.gz", "aclImdb")
_BLOCK = 512  # tar's block size
_EMPTY_BLOCK = bytes(_BLOCK)
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclass
class Review:
    split: str
    label: int  # 0 negative, 1 positive
    rating: int  # 1-4 negative, 7-10 positive
    id: int
    text: str


def cache_home() -> Path:
    """Per-user folder for downloads and prepared datasets."""
    if "RNNBENCH_CACHE" in os.environ:
        return Path(os.environ["RNNBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnbench"


def locate(path: str | os.PathLike | None = None) -> Path:
    """The dataset: ``path`` if given, else ``$RNNBENCH_DATA``, else the per-user cache.

    Each place may be the archive, the extracted ``aclImdb`` folder, or a folder holding
    either of them.
    """
    if path:
        places = [("the data option", Path(path))]
    else:
        places = []
        if os.environ.get("RNNBENCH_DATA"):
            places.append(("$RNNBENCH_DATA", Path(os.environ["RNNBENCH_DATA"])))
        places.append(("the download cache", cache_home() / "data"))
    looked = []
    for source, place in places:
        for candidate in (place, *(place / name for name in CANDIDATES)):
            if candidate.is_file() or (candidate / "train").is_dir():
                return candidate
        looked.append(f"{place} ({source})")
    raise DataError(
        "IMDB data not found. Looked in: " + "; ".join(looked) + ". Get it with `rnnbench data imdb` "
        f"(downloads {ARCHIVE_NAME}), or point --set data=PATH or RNNBENCH_DATA at the archive or the "
        "extracted aclImdb folder."
    )


def iter_documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(member name, raw bytes) of every labelled review under ``path``, archive or folder."""
    try:
        yield from _read_archive(path) if path.is_file() else _read_folder(path)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"cannot read the archive {path}: {type(exc).__name__}: {exc}. It is truncated or corrupt; "
            f"download it again with `rnnbench data imdb`."
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def read_reviews(path: Path) -> list[Review]:
    """Every labelled review under ``path``, parsed."""
    reviews = [parse_review(name, data, path) for name, data in iter_documents(path)]
    if not reviews:
        raise no_reviews(path)
    return reviews


def no_reviews(path: Path) -> DataError:
    return DataError(
        f"no reviews in the official layout aclImdb/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt "
        f"found in {path}: is it the Large Movie Review Dataset?"
    )


def check_counts(labels: dict[str, Sequence[int]], per_split: int, source: Path) -> None:
    """Each split (name -> its labels) must hold ``per_split`` reviews, half of them positive."""
    for split in SPLITS:
        count, positive = len(labels[split]), int(sum(labels[split]))
        if count != per_split or positive * 2 != per_split:
            raise DataError(
                f"{source}: the {split} split has {count} reviews ({positive} positive), expected "
                f"{per_split} ({per_split // 2} positive). The copy is incomplete or not the official "
                f"dataset; download it again with `rnnbench data imdb`."
            )


def parse_review(name: str, data: bytes, source: Path) -> Review:
    split, polarity, review_id, rating = _MEMBER.search(name).groups()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: {name} is not UTF-8 text ({exc}); the copy is corrupt") from exc
    return Review(split, LABELS[polarity], int(rating), int(review_id), text)


def _read_archive(path: Path) -> Iterator[tuple[str, bytes]]:
    """Stream a (gzipped) tar archive; nothing is extracted to disk.

    A small reader of ustar, GNU and pax headers, because tarfile's pure-Python header
    parsing costs more than decompressing and tokenising 50,000 reviews together. Every
    header's checksum is verified; a short read is a truncated archive.
    """
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    with (gzip.open if compressed else open)(path, "rb") as stream:
        long_name = None
        while True:
            header = stream.read(_BLOCK)
            if len(header) < _BLOCK:
                raise EOFError("the archive ends inside a header (no end-of-archive marker)")
            if header == _EMPTY_BLOCK:
                return
            stored = _octal(header[148:156])
            if stored is None or stored != sum(header[:148]) + 8 * 32 + sum(header[156:]):
                raise tarfile.HeaderError("bad header checksum: not a tar archive, or a corrupt one")
            size = _octal(header[124:136]) or 0
            data = stream.read(size)
            if len(data) < size:
                raise EOFError(f"the archive ends inside a member ({len(data)} of {size} bytes)")
            stream.read(-size % _BLOCK)  # padding to the next block
            kind = header[156:157]
            if kind == b"L":  # GNU: the next member's long name
                long_name = data.rstrip(b"\0").decode()
                continue
            if kind in (b"x", b"g"):  # pax: extended attributes, maybe a long path
                for record in data.split(b"\n"):
                    if b" path=" in record:
                        long_name = record.split(b" path=", 1)[1].decode()
                continue
            name = long_name or _header_name(header)
            long_name = None
            if kind in (b"0", b"\0") and _MEMBER.search(name):
                yield name, data


def _octal(field: bytes) -> int | None:
    """A tar header's octal number; None when the field holds something else (then the file
    is not a tar archive, and the checksum test says so)."""
    digits = field.strip(b" \0")
    try:
        return int(digits, 8) if digits else None
    except ValueError:
        return None


def _header_name(header: bytes) -> str:
    name = header[:100].split(b"\0", 1)[0].decode()
    prefix = header[345:500].split(b"\0", 1)[0].decode() if header[257:262] == b"ustar" else ""
    return f"{prefix}/{name}" if prefix else name


def _read_folder(path: Path) -> Iterator[tuple[str, bytes]]:
    root = path if (path / "train").is_dir() else path / "aclImdb"
    missing = [
        f"{split}/{polarity}" for split in SPLITS for polarity in LABELS if not (root / split / polarity).is_dir()
    ]
    if missing:
        raise DataError(
            f"{root} is not in the official layout: missing {', '.join(missing)} "
            f"(expected aclImdb/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt)"
        )
    for split in SPLITS:
        for polarity in LABELS:
            for file in sorted((root / split / polarity).iterdir()):
                name = f"aclImdb/{split}/{polarity}/{file.name}"
                if _MEMBER.search(name):
                    yield name, file.read_bytes()


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(destination: Path | None = None, url: str = URL, md5: str = ARCHIVE_MD5) -> Path:
    """Fetch the official archive with a progress bar; verify its checksum before keeping it."""
    destination = destination or cache_home() / "data" / ARCHIVE_NAME
    if destination.exists() and file_md5(destination) == md5:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as file:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=ARCHIVE_NAME) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    file.write(block)
                    digest.update(block)
                    bar.update(len(block))
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"download of {url} failed: {exc}. Without internet, copy {ARCHIVE_NAME} here by hand "
            f"and set RNNBENCH_DATA to its path."
        ) from exc
    if digest.hexdigest() != md5:
        partial.unlink(missing_ok=True)
        raise DataError(f"{url} downloaded with MD5 {digest.hexdigest()}, expected {md5}; try again")
    partial.replace(destination)
    return destination
