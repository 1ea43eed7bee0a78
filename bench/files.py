"""Atomic file writes: every file rnnbench writes (records, tables, figures, reports) goes
to a temporary file in the same folder and is renamed over its final name, so a crash, a
full disk or a Ctrl-C never leaves a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.errors import RnnbenchError

FILE_MODE = 0o644  # results are data to share: readable by all, writable by their owner


def atomic_write(path: Path, write: Callable[[Path], None], fsync: bool = False) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    ``fsync`` forces the bytes to disk before the rename (records: a power cut must not
    leave an empty file under a record's name). On any failure the temporary file is
    removed, ``path`` keeps what it held before, and the exception propagates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # named so that no reader's pattern (*.json, *.png) matches a file being written
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, FILE_MODE)  # mkstemp creates files only their owner can read
        if fsync:
            with open(temporary, "rb+") as file:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries(folder: Path, before: float) -> list[Path]:
    """Remove the temporary files `atomic_write` left in ``folder`` (a writer killed
    mid-write) that were last modified before ``before`` (a time.time() value)."""
    removed = []
    for path in folder.glob(".*.tmp"):
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # another process removed it first
            continue
    return removed


def write_outputs(directory: Path, what: str, writes: dict[Path, Callable[[Path], None]]) -> list[Path]:
    """Write several report files atomically; a failure is one clear error that says the
    stored results are untouched."""
    written = []
    for path, write in writes.items():
        try:
            written.append(atomic_write(path, write))
        except OSError as exc:
            raise RnnbenchError(
                f"cannot write {what} {path}: {exc.strerror or exc}. The stored results in {directory}/cells are "
                f"untouched; free space (or fix the folder) and run `rnnbench report {directory}` again."
            ) from exc
    return written
