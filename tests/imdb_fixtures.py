"""Tiny datasets in the official aclImdb layout, made by the tests."""

from __future__ import annotations

import io
import random
import re
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


# Words for generated reviews: a sentiment word decides the label, fillers pad the length,
# and a few pieces exercise the tokenizer (quotes, line breaks, apostrophes, a literal
# "<unk>" that must not become a second vocabulary entry).
GOOD = ["great", "wonderful", "superb", "moving", "funny", "brilliant"]
BAD = ["awful", "boring", "terrible", "dull", "clumsy", "pointless"]
FILLER = [f"word{i}" for i in range(300)] + ["film", "the", "a", "(plot)", "it's", '"quoted"', "end.<br />new", "<unk>"]


def generated_reviews(per_class: int, seed: int = 0) -> dict[str, str]:
    """{member path: text} of ``per_class`` reviews per split and polarity, 5 to 300 words
    long, learnable from their sentiment words; deterministic per seed."""
    rng = random.Random(seed)
    files = {}
    for split in ("train", "test"):
        for polarity, words in (("pos", GOOD), ("neg", BAD)):
            for i in range(per_class):
                length = rng.randint(5, 300)
                text = [rng.choice(FILLER) for _ in range(length)]
                for _ in range(3):  # the sentiment, anywhere in the review
                    text[rng.randrange(length)] = rng.choice(words)
                rating = rng.choice([7, 8, 9, 10] if polarity == "pos" else [1, 2, 3, 4])
                files[f"aclImdb/{split}/{polarity}/{i}_{rating}.txt"] = " ".join(text).capitalize() + "!"
    files["aclImdb/train/unsup/0_0.txt"] = "unlabelled words never counted"
    return files


def independent_vocabulary_size(archive: Path) -> int:
    """The size of torchtext's vocabulary of the training reviews with the specials <unk>
    and <pad> and no max_tokens, counted without rnnbench's reader or vocabulary: tarfile,
    torchtext's own regular expressions, a set."""
    from tasks.text import basic_english_reference

    distinct = set()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and re.search(r"aclImdb/train/(pos|neg)/", member.name):
                distinct.update(basic_english_reference(tar.extractfile(member).read().decode()))
    return len(distinct - {"<unk>", "<pad>"}) + 2
