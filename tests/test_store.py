"""The results store."""

from __future__ import annotations

import os

import pytest

from bench import RnnbenchError
from bench.store import Store


def test_records_round_trip_and_leave_no_temporary_files(tmp_path):
    store = Store(tmp_path)
    store.put({"id": "a", "status": "ok", "value": float("inf")})
    assert store.get("a") == {"id": "a", "status": "ok", "value": float("inf")}
    assert [p.name for p in store.cells.iterdir()] == ["a.json"]


def test_a_corrupt_record_counts_as_not_done(tmp_path):
    store = Store(tmp_path)
    store.cells.mkdir(parents=True)
    store.path("b").write_text('{"id": "b", "sta')
    assert store.get("b") is None
    assert list(store.records()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_folder_fails_before_any_work(tmp_path):
    tmp_path.chmod(0o500)
    with pytest.raises(RnnbenchError, match="cannot write results"):
        Store(tmp_path / "out").ensure_writable()


def test_a_file_in_the_way_fails_before_any_work(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(RnnbenchError, match="cannot write results to .*Choose another --out folder"):
        Store(tmp_path / "out").ensure_writable()
