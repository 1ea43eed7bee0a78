"""Tiny datasets in the official aclImdb layout, made by the tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

POSITIVE = ["A great film!", "Loved it.<br />Wonderful acting", "Best movie, (really) great.", "great great fun"]
NEGATIVE = ["Awful film.", "I hated it; boring: terrible", "Worst movie? Yes.", "bad bad acting, awful plot"]


def review_files(per_class: int = 3, unsup: int = 2) -> dict[str, str]:
    """{member path: text} with ``per_class`` reviews per split and polarity, plus unsup ones."""
    files = {"aclImdb/README": "readme", "aclImdb/imdb.vocab": "the\nfilm\n"}
    for split in ("train", "test"):
        for i in range(per_class):
            files[f"aclImdb/{split}/pos/{i}_{7 + i % 4}.txt"] = POSITIVE[i % len(POSITIVE)] + f" {split}{i}"
            files[f"aclImdb/{split}/neg/{i}_{1 + i % 4}.txt"] = NEGATIVE[i % len(NEGATIVE)] + f" {split}{i}"
    for i in range(unsup):
        files[f"aclImdb/train/unsup/{i}_0.txt"] = "unlabelled text"
    return files


def make_archive(path: Path, files: dict[str, str], fmt: int = tarfile.GNU_FORMAT) -> Path:
    with tarfile.open(path, "w:gz", format=fmt) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def make_folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "aclImdb"
