"""The results store: ``<dir>/cells/<cell id>.json``, one record per cell.

Records are written atomically (`bench.files.atomic_write`), so a reader or a crash never
sees half a record. They are strict JSON: non-finite floats are written as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (what JavaScript's ``Number()`` reads back)
and mapped back to floats when read; records written with bare ``NaN`` still load.

Every record is validated when it is read. A damaged file (not JSON, not a record, an id
that is not its file name, a copy) is skipped and named in a warning that says what to do;
it is never deleted. When its cell is computed again, the damaged file is kept beside the
new record as ``<id>.json.damaged``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import faults
from bench.errors import RnnbenchError
from bench.files import atomic_write

STATUSES = ("ok", "diverged", "error")
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# The parts of a record that readers index into, and the type each must have.
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "status": str,
    "arch": str,
    "task": str,
    "seed": int,
    "config": dict,
    "test": dict,
    "valid": dict,
    "throughput": dict,
    "gradients": list,
    "gates": list,
    "jacobian": list,
    "trajectory": list,
    "history": list,
}
REQUIRED = ("id", "status", "arch", "task", "seed")


class StoreWarning(UserWarning):
    """Files in a results folder that are not valid records; they are skipped, never deleted."""


@dataclass
class Scan:
    """What a results folder holds: its valid records, and each damaged file with what is wrong."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: dict[Path, str] = field(default_factory=dict)

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


def validate(record: Any, stem: str) -> str | None:
    """What is wrong with a record read from ``<stem>.json``, or None when it is valid."""
    if not isinstance(record, dict):
        return f"not a record (a JSON {type(record).__name__}, expected an object)"
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    for key, kind in FIELD_TYPES.items():
        value = record.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            return f"'{key}' is a {type(value).__name__}, expected {getattr(kind, '__name__', kind)}"
    for key in ("run", "arch_options", "task_options"):
        if not isinstance(record.get("config", {}).get(key, {}), dict):
            return f"'config.{key}' is not an object"
    for key in ("gradients", "history", "gates", "jacobian", "trajectory"):
        if not all(isinstance(item, dict) for item in record.get(key) or []):
            return f"'{key}' holds something other than objects"
    if record["status"] not in STATUSES:
        return f"unknown status {record['status']!r} (expected one of {', '.join(STATUSES)})"
    if record["id"] != stem:
        if stem.startswith(record["id"]):
            return f"a copy of {record['id']}.json (that record counts once): delete this file"
        return f"holds the record of cell {record['id']}, not of {stem}: rename it {record['id']}.json"
    return None


def to_strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its string name (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: to_strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_strict_json(v) for v in value]
    return value


def from_strict_json(value: Any) -> Any:
    """The inverse of `to_strict_json`."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {k: from_strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_strict_json(v) for v in value]
    return value


def _write_in_halves(path: Path, text: str) -> None:
    """Write ``text``; the fault-injection point ``write`` lies between its two halves."""
    with open(path, "w") as file:
        file.write(text[: len(text) // 2])
        file.flush()
        faults.reach("write")
        file.write(text[len(text) // 2 :])


class Store:
    """One results folder: read and write the records of its cells."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.cells = self.directory / "cells"

    def ensure_writable(self) -> None:
        """Fail before any training if the folder cannot hold results."""
        try:
            self.cells.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.cells, prefix=".probe-"):
                pass
        except OSError as exc:
            raise RnnbenchError(
                f"cannot write results to '{self.directory}': {exc.strerror or exc}. Choose another --out folder."
            ) from exc

    def path(self, cell_id: str) -> Path:
        return self.cells / f"{cell_id}.json"

    def read(self, path: Path) -> tuple[dict[str, Any] | None, str | None]:
        """(record, None) for a valid record file, (None, what is wrong) otherwise."""
        try:
            record = from_strict_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None, None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return None, f"not JSON ({exc}): truncated or overwritten"
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        problem = validate(record, path.stem)
        return (None, problem) if problem else (record, None)

    def get(self, cell_id: str) -> dict[str, Any] | None:
        """The cell's valid record, or None (not stored yet, or damaged: warned about)."""
        record, problem = self.read(self.path(cell_id))
        if problem:
            Scan(damaged={self.path(cell_id): problem}).warn()
        return record

    def put(self, record: dict[str, Any]) -> None:
        """Store a record atomically; a damaged file it replaces is kept as ``.damaged``."""
        path = self.path(record["id"])
        text = json.dumps(to_strict_json(record), indent=1, allow_nan=False)
        try:
            if path.exists() and self.read(path)[1] is not None:
                os.replace(path, path.with_name(path.name + ".damaged"))
            atomic_write(path, lambda temporary: _write_in_halves(temporary, text), fsync=True)
        except OSError as exc:
            raise RnnbenchError(
                f"cannot store cell {record['id']} in {self.cells}: {exc.strerror or exc}. Cells stored before "
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
        return scan

    def records(self) -> Iterator[dict[str, Any]]:
        """Every valid record; damaged files are named in one `StoreWarning`."""
        scan = self.scan()
        scan.warn()
        yield from scan.records
