"""The results store: ``<dir>/cells/<cell id>.json``, one record per cell.

Each record is written to a temporary file in the same folder and renamed over its final
name, so a reader (or a crash) never sees half a record. JSON only: results are data,
never code.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.errors import RnnbenchError

FINISHED = ("ok", "diverged")  # statuses a rerun keeps; "error" cells are rerun on request


class Store:
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

    def get(self, cell_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.path(cell_id).read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # unreadable: treated as not done, rerun and overwritten

    def put(self, record: dict[str, Any]) -> None:
        try:
            self.cells.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.cells, prefix=f".{record['id']}-", suffix=".tmp")
        except OSError as exc:
            raise self._unwritable(record, exc) from exc
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(record, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path(record["id"]))
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise self._unwritable(record, exc) from exc
            raise

    def _unwritable(self, record: dict[str, Any], exc: OSError) -> RnnbenchError:
        return RnnbenchError(
            f"cannot store cell {record['id']} in {self.cells}: {exc.strerror or exc}. Cells stored before it "
            f"are kept; free space (or fix the folder) and rerun the same command to resume."
        )

    def records(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.cells.glob("*.json")):
            try:
                yield json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
