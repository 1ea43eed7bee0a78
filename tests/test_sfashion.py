"""The sequential Fashion-MNIST task on tiny IDX files the tests write (the real data, from
Debian's dataset-fashion-mnist, is used when installed)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

import bench
from bench import DataError
from bench.cli import main
from tasks import sfashion
from tasks.idx import read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    return b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_dataset(folder, train: int = 40, test: int = 20, compress: bool = True):
    """Images whose class is readable from their first row, so a model can learn them."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 50, (count, 28, 28)).astype(np.uint8)
        images[np.arange(count), 0, labels] = 255
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = folder / f"{split}-{kind}-ubyte"
            data = idx_bytes(array)
            if compress:
                (name.with_name(name.name + ".gz")).write_bytes(gzip.compress(data))
            else:
                name.write_bytes(data)
    return folder


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "fashion")
    monkeypatch.setenv("RNNBENCH_FASHION_MNIST", str(folder))
    return folder


def prepare(**options):
    task = bench.get_task("sfashion")
    return task.prepare(task.resolve_options({"valid_size": 8, **options}), seed=0)


def test_pixel_row_and_permuted_orders(dataset):
    pixel, row = prepare(), prepare(order="row")
    assert pixel.train.inputs.shape == (32, 784, 1) and row.train.inputs.shape == (32, 28, 28)
    assert (pixel.train.lengths == 784).all() and (row.valid.lengths == 28).all()
    torch.testing.assert_close(pixel.train.inputs.reshape(32, 28, 28), row.train.inputs)  # same images, read twice
    assert float(pixel.train.inputs.min()) >= 0 and float(pixel.train.inputs.max()) == 1.0
    permuted, again = prepare(permute=True), prepare(permute=True)
    torch.testing.assert_close(permuted.train.inputs, again.train.inputs)  # one fixed permutation
    assert not torch.equal(permuted.train.inputs, pixel.train.inputs)
    torch.testing.assert_close(permuted.train.inputs.sort(1).values, pixel.train.inputs.sort(1).values)
    assert len(pixel.valid) == 8 and len(pixel.test) == 20 and pixel.num_outputs == 10


def test_the_validation_split_is_seeded_and_disjoint(dataset):
    task = bench.get_task("sfashion")
    options = task.resolve_options({"valid_size": 8, "order": "row"})
    first, same, other = task.prepare(options, 0), task.prepare(options, 0), task.prepare(options, 1)
    torch.testing.assert_close(first.valid.inputs, same.valid.inputs)
    assert not torch.equal(first.valid.inputs, other.valid.inputs)
    seen = {tuple(x.flatten().tolist()) for x in first.train.inputs}
    assert not any(tuple(x.flatten().tolist()) in seen for x in first.valid.inputs)


def test_a_tiny_model_runs_end_to_end(dataset, tmp_path):
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "sfashion", "--seeds", "0", "--out", str(out), "--no-progress"]
    settings = ["order=row", "valid_size=8", "threads=1", "max_steps=6", "eval_every=3", "hidden_size=8"]
    assert main([*args, "--set", *settings]) == 0
    frame = bench.load_results(out)
    assert frame.loc[0, "status"] == "ok" and 0 <= frame.loc[0, "test_accuracy"] <= 1


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: b"PK\x03\x04" + data, "is not an IDX file"),
        (lambda data: data[:2] + b"\x0d" + data[3:], "found type 0x0d"),
        (lambda data: data[:-10], "truncated or corrupt"),
        (lambda data: data[:6], "ends inside its header"),
    ],
)
def test_malformed_idx_files_are_data_errors(tmp_path, damage, message):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(damage(idx_bytes(np.arange(10, dtype=np.uint8))))
    with pytest.raises(DataError, match=message):
        read_idx(path, 1)


def test_images_and_labels_that_disagree_are_a_data_error(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "f", compress=False)
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(39, dtype=np.uint8)))
    monkeypatch.setenv("RNNBENCH_FASHION_MNIST", str(folder))
    with pytest.raises(DataError, match="40 images but .* 39 labels"):
        prepare()


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNBENCH_FASHION_MNIST", str(tmp_path))
    monkeypatch.setattr(sfashion, "DEBIAN", tmp_path / "nowhere")
    args = ["run", "--arch", "gru", "--task", "sfashion", "--seeds", "0", "--out", str(tmp_path / "o")]
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Fashion-MNIST not found" in err and "apt-get install dataset-fashion-mnist" in err


def test_bad_options_are_explained_before_any_data(capsys, tmp_path):
    args = ["run", "--arch", "gru", "--task", "sfashion", "--seeds", "0", "--out", str(tmp_path / "o")]
    assert main([*args, "--set", "order=column"]) == 2
    assert "order must be one of pixel, row" in capsys.readouterr().err
    assert main([*args, "--set", "order=row", "permute=true"]) == 2
    assert "it needs order=pixel" in capsys.readouterr().err


@pytest.mark.skipif(not sfashion.DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_real_data_has_the_official_shape():
    task = bench.get_task("sfashion")
    data = task.prepare(task.resolve_options({"data": str(sfashion.DEBIAN), "order": "row"}), seed=0)
    assert (len(data.train), len(data.valid), len(data.test)) == (55_000, 5_000, 10_000)
    assert sorted(torch.bincount(data.test.targets).tolist()) == [1_000] * 10
