"""Everything a results folder gets from its records: CSV tables (the list in
`bench.catalog`), figures, and on request the HTML and markdown reports. `rnnbench report`,
`rnnbench run` and `bench.write_reports` all call `write_reports`.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pandas as pd

from bench.catalog import TABLES
from bench.errors import RnnbenchError
from bench.figures import STALE_AFTER_S, write_figures
from bench.files import remove_stale_temporaries, write_outputs
from bench.html import write_html, write_markdown
from bench.results import Results, load
from bench.store import damaged_message


def build_tables(results: Results) -> dict[str, pd.DataFrame]:
    """Every table of `TABLES`, by name (only ``cells`` when there is no record)."""
    if results.frame.empty:
        return {"cells": results.frame}
    return {table.name: table.build(results) for table in TABLES}


def write_tables(results: Results) -> dict[str, pd.DataFrame]:
    """Write every table as CSV into the results folder; return them by name."""
    directory = results.directory
    tables = build_tables(results)
    flat = {table.name for table in TABLES if table.flat}
    write_outputs(
        directory,
        "table",
        {
            directory / f"{name}.csv": functools.partial(_write_csv, table, index=name not in flat)
            for name, table in tables.items()
        },
    )
    return tables


def _write_csv(table: pd.DataFrame, path: Path, index: bool) -> None:
    table.to_csv(path, index=index)


def write_reports(directory: str | os.PathLike, html: bool = False) -> tuple[Results, dict[str, pd.DataFrame]]:
    """Write the tables (CSV) and figures (PNG, SVG) of a results folder, and with ``html``
    also ``report.html`` and ``report.md``; return the results and the tables by name. The
    folder is read once. A folder without a valid record is an error that says what it found."""
    results = load(directory)
    if not results.records:
        found = f" {damaged_message(results.damaged)}" if results.damaged else ""
        raise RnnbenchError(f"no valid records in {results.directory / 'cells'}; nothing to report.{found}")
    remove_stale_temporaries(results.directory, time.time() - STALE_AFTER_S)
    tables = write_tables(results)
    write_figures(results)
    if html:
        write_html(results, tables)
        write_markdown(results, tables)
    return results, tables


def figure_count(directory: str | os.PathLike) -> int:
    """Figures in a results folder (each also written as SVG)."""
    return len(list((Path(directory) / "figures").glob("*.png")))
