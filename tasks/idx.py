"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header, then the
array. ``train-images-idx3-ubyte`` holds ``uint8[N, 28, 28]``, ``train-labels-idx1-ubyte``
``uint8[N]``; either may be gzipped. Anything else is a `DataError` that names the file and
says what is wrong with it."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from bench import DataError

UBYTE = 0x08  # the only element type these datasets use


def read_idx(path: Path, dimensions: int) -> np.ndarray:
    """The ``uint8`` array of an IDX file with ``dimensions`` dimensions."""
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        with (gzip.open if compressed else open)(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}. The file is truncated or corrupt; reinstall the data") from exc
    if len(data) < 4 or data[:2] != b"\0\0":
        raise DataError(f"{path} is not an IDX file (no IDX magic number at its start)")
    kind, found = data[2], data[3]
    if kind != UBYTE or found != dimensions:
        raise DataError(
            f"{path}: expected unsigned bytes in {dimensions} dimension(s), found type 0x{kind:02x} in {found}; "
            f"is it the right file?"
        )
    header = 4 + 4 * dimensions
    if len(data) < header:
        raise DataError(f"{path} ends inside its header: truncated")
    shape = struct.unpack(f">{dimensions}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(
            f"{path}: the header promises {expected:,} bytes of shape {shape}, the file holds "
            f"{len(data) - header:,}: truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_images_and_labels(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """``uint8[N, rows, cols]`` images and their ``uint8[N]`` labels, checked against each other."""
    pixels, classes = read_idx(images, 3), read_idx(labels, 1)
    if len(pixels) != len(classes):
        raise DataError(f"{images} holds {len(pixels):,} images but {labels} {len(classes):,} labels")
    if len(classes) and int(classes.max()) > 9:
        raise DataError(f"{labels}: label {int(classes.max())} is outside 0-9")
    return pixels, classes
