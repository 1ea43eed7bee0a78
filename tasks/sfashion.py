"""Built-in task plugin `sfashion`: Fashion-MNIST (Xiao et al. 2017) read as a sequence, the
sequential-MNIST protocol of Le et al. 2015 on a harder set of images.

- ``order=pixel``: one pixel per step, T = 784, row by row (the protocol of Le et al. and
  TCN); with ``permute=true`` the pixels are read in one fixed random order (seeded by
  ``permutation_seed``, the same for every run), the "permuted" variant;
- ``order=row``: one row of 28 pixels per step, T = 28 (a small variant).

The data are the four IDX files of the dataset, found in ``--set data=PATH``, then
``$RNNBENCH_FASHION_MNIST``, then Debian's package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``). The validation split is held out from the 60,000
training images, seeded by the run's seed; the 10,000 test images are the test split.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import DataError, SequenceSet, Task, TaskData, hold_out, hookimpl
from tasks.idx import read_images_and_labels

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ORDERS = ("pixel", "row")


def locate(path: str) -> Path:
    """The folder that holds the four IDX files (each possibly ``.gz``): the folder given
    (and only it, when one is given), else ``$RNNBENCH_FASHION_MNIST``, else Debian's."""
    if path:
        places = [("--set data", path)]
    else:
        places = [("$RNNBENCH_FASHION_MNIST", os.environ.get("RNNBENCH_FASHION_MNIST", "")), ("Debian", str(DEBIAN))]
    looked = []
    for source, place in places:
        if not place:
            continue
        missing = [name for names in FILES.values() for name in names if not _find(Path(place), name)]
        if not missing:
            return Path(place)
        what = "does not exist" if not Path(place).is_dir() else f"lacks {', '.join(missing)} (or .gz)"
        looked.append(f"{place} ({source}): {what}")
    raise DataError(
        "Fashion-MNIST not found. Looked in: " + ("; ".join(looked) or "nowhere (no folder given)") + ". " + HOW_TO_GET
    )


HOW_TO_GET = (
    "On Debian or Ubuntu: `apt-get install dataset-fashion-mnist`; elsewhere download the four IDX files of "
    "https://github.com/zalandoresearch/fashion-mnist and point --set data=FOLDER or RNNBENCH_FASHION_MNIST at them."
)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def as_sequences(images: np.ndarray, order: str, permutation: np.ndarray | None) -> torch.Tensor:
    """``uint8[N, 28, 28]`` -> ``float[N, T, F]`` in [0, 1]: T = 784, F = 1 by pixel; T = 28,
    F = 28 by row."""
    pixels = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255)
    if order == "row":
        return pixels
    flat = pixels.reshape(len(pixels), -1)
    if permutation is not None:
        flat = flat[:, torch.from_numpy(permutation)]
    return flat.unsqueeze(-1)


class SequentialFashionMNIST(Task):
    name = "sfashion"
    description = "Fashion-MNIST pixel by pixel (T=784; permuted, or row by row, T=28): sequential images."
    kind = "classification"
    defaults = {
        "data": "",  # folder of the IDX files; empty: $RNNBENCH_FASHION_MNIST, then Debian's package
        "order": "pixel",  # "pixel": T = 784, one pixel per step; "row": T = 28, one row per step
        "permute": False,  # read the pixels in one fixed random order (the permuted variant)
        "permutation_seed": 0,  # that order's seed: the same permutation for every run
        "valid_size": 5_000,  # training images held out for model selection (seeded by the run)
        "train_size": 0,  # training images used after the hold-out; 0: all the rest
        "test_size": 0,  # test images used; 0: all 10,000
    }
    train_defaults = {
        "embed_size": 16,  # pixel intensities are projected to this size
        "hidden_size": 128,
        "batch_size": 64,
        "lr": 1e-3,
        "epochs": 1,
        "eval_every": 200,
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = []
        if options["order"] not in ORDERS:
            problems.append(f"sfashion: order must be one of {', '.join(ORDERS)}, got {options['order']!r}")
        if options["permute"] and options["order"] != "pixel":
            problems.append("sfashion: permute=true reads pixels in a random order; it needs order=pixel")
        for key in ("valid_size", "train_size", "test_size"):
            if int(options[key]) < (1 if key == "valid_size" else 0):
                problems.append(f"sfashion: {key} must be >= {1 if key == 'valid_size' else 0}, got {options[key]}")
        return problems

    def download(self) -> str:
        """rnnbench does not download Fashion-MNIST: it reads the files where they are."""
        try:
            return str(locate(""))
        except DataError as missing:
            raise DataError(f"rnnbench does not download Fashion-MNIST. {missing}") from None

    def prepare(self, options: Mapping[str, Any], seed: int) -> TaskData:
        folder = locate(options["data"])
        splits = {
            split: read_images_and_labels(*(_find(folder, name) for name in names)) for split, names in FILES.items()
        }
        (train_images, train_labels), (test_images, test_labels) = splits["train"], splits["test"]
        held_out = int(options["valid_size"])
        if held_out >= len(train_images):
            raise DataError(f"sfashion: valid_size={held_out} leaves no training image of {len(train_images):,}")
        valid, kept = (part.numpy() for part in hold_out(len(train_images), held_out, seed))
        if int(options["train_size"]):
            kept = kept[: int(options["train_size"])]
        test = np.arange(int(options["test_size"]) or len(test_images))[: len(test_images)]
        permutation = None
        if options["permute"]:
            generator = np.random.default_rng(int(options["permutation_seed"]))
            permutation = generator.permutation(train_images.shape[1] * train_images.shape[2])

        def split(images: np.ndarray, labels: np.ndarray) -> SequenceSet:
            inputs = as_sequences(images, options["order"], permutation)
            lengths = torch.full((len(inputs),), inputs.shape[1], dtype=torch.long)
            return SequenceSet(inputs, lengths, torch.from_numpy(labels.astype(np.int64)))

        return TaskData(
            train=split(train_images[kept], train_labels[kept]),
            valid=split(train_images[valid], train_labels[valid]),
            test=split(test_images[test], test_labels[test]),
            num_outputs=10,
            num_features=1 if options["order"] == "pixel" else train_images.shape[2],
            info={"source": str(folder.resolve()), "T": 784 if options["order"] == "pixel" else 28},
        )


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [SequentialFashionMNIST()]
