"""The results store: ``<dir>/cells/<cell id>.json``, one record per cell.

Records are written atomically (`bench.files.atomic_write`), so a reader or a crash never
sees half a record. They are strict JSON (`bench.record.to_strict_json`); records written
with bare ``NaN`` still load.

Every file is read through `bench.record.Record.from_json`: upgraded from its format and
validated. A damaged file (not JSON, not a record, an id that is not its file name, a copy)
is skipped and named in a warning that says what to do; it is never deleted. When its cell
is computed again, the damaged file is kept beside the new record as ``<id>.json.damaged``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import faults
from bench.errors import RnnbenchError
from bench.files import atomic_write, remove_stale_temporaries
from bench.probe import probe_checks
from bench.record import ProbeCheck, Record, RecordError


class StoreWarning(UserWarning):
    """Files in a results folder that are not valid records; they are skipped, never deleted."""


@dataclass
class Scan:
    """What a results folder holds: its valid records, and each damaged file with what is wrong."""

    records: list[Record] = field(default_factory=list)
    damaged: dict[Path, str] = field(default_factory=dict)
    modified: dict[str, float] = field(default_factory=dict)  # record id -> its file's mtime

    def warn(self) -> None:
        if self.damaged:
            warnings.warn(damaged_message(self.damaged), StoreWarning, stacklevel=3)


def damaged_message(damaged: dict[Path, str]) -> str:
    lines = "\n".join(f"  - {path.name}: {problem}" for path, problem in damaged.items())
    folder = next(iter(damaged)).parent
    return (
        f"skipped {len(damaged)} file(s) in {folder} that are not valid records:\n{lines}\n"
        f"Their cells count as not done: rerun the command to compute them again (the damaged files are "
        f"kept as <id>.json.damaged), or delete the files."
    )


def _write_in_halves(path: Path, text: str) -> None:
    """Write ``text``; the fault-injection point ``write`` lies between its two halves."""
    with open(path, "w") as file:
        file.write(text[: len(text) // 2])
        file.flush()
        faults.reach("write")
        file.write(text[len(text) // 2 :])


# A temporary file left in cells/ by a killed writer is removed by the next run once it is
# this much older than that run's start: a live writer of the same folder (a second run, a
# worker) finishes a record in milliseconds, so a file this old has no writer any more.
STALE_AFTER_S = 60.0


class Store:
    """One results folder: read and write the records of its cells.

    ``probe_checks``: each probe's check of its part of a record, by record key (the
    registered probes' by default)."""

    def __init__(self, directory: str | os.PathLike, probe_checks: Mapping[str, ProbeCheck] | None = None) -> None:
        self.directory = Path(directory)
        self.cells = self.directory / "cells"
        self._probe_checks = probe_checks

    @property
    def probe_checks(self) -> Mapping[str, ProbeCheck]:
        if self._probe_checks is None:  # the registered probes', read once per store
            self._probe_checks = probe_checks()
        return self._probe_checks

    def ensure_writable(self) -> None:
        """Fail before any training if the folder cannot hold results; remove what killed
        writers left behind."""
        try:
            self.cells.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.cells, prefix=".probe-"):
                pass
        except OSError as exc:
            raise RnnbenchError(
                f"cannot write results to '{self.directory}': {exc.strerror or exc}. Choose another --out folder."
            ) from exc
        remove_stale_temporaries(self.cells, time.time() - STALE_AFTER_S)

    def path(self, cell_id: str) -> Path:
        return self.cells / f"{cell_id}.json"

    def read(self, path: Path) -> tuple[Record | None, str | None]:
        """(record, None) for a valid record file, (None, what is wrong) otherwise."""
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None, None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return None, f"not JSON ({exc}): truncated or overwritten"
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        try:
            return Record.from_json(data, path.stem, self.probe_checks), None
        except RecordError as exc:
            return None, str(exc)

    def get(self, cell_id: str) -> Record | None:
        """The cell's valid record, or None (not stored yet, or damaged: warned about)."""
        record, problem = self.read(self.path(cell_id))
        if problem:
            Scan(damaged={self.path(cell_id): problem}).warn()
        return record

    def put(self, record: Record) -> None:
        """Store a record atomically; a damaged file it replaces is kept as ``.damaged``."""
        path = self.path(record.id)
        text = json.dumps(record.to_json(), indent=1, allow_nan=False)
        try:
            if path.exists() and self.read(path)[1] is not None:
                os.replace(path, path.with_name(path.name + ".damaged"))
            atomic_write(path, lambda temporary: _write_in_halves(temporary, text), fsync=True)
        except OSError as exc:
            raise RnnbenchError(
                f"cannot store cell {record.id} in {self.cells}: {exc.strerror or exc}. Cells stored before "
                f"it are kept; free space (or fix the folder) and rerun the same command to resume."
            ) from exc

    def scan(self) -> Scan:
        """Every valid record, sorted by file name, and every damaged file."""
        scan = Scan()
        for path in sorted(self.cells.glob("*.json")):
            record, problem = self.read(path)
            if problem:
                scan.damaged[path] = problem
            elif record is not None:
                scan.records.append(record)
                scan.modified[record.id] = path.stat().st_mtime
        return scan

    def records(self) -> list[Record]:
        """Every valid record; damaged files are named in one `StoreWarning`. (Reports read a
        folder once, through `bench.results.load`.)"""
        scan = self.scan()
        scan.warn()
        return scan.records
