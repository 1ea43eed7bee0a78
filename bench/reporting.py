"""Everything a results folder gets from its records: CSV tables, figures, and on request
the HTML and markdown reports. `rnnbench report` and `bench.write_reports` both call it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from bench.errors import RnnbenchError
from bench.figures import write_figures
from bench.html import write_html, write_markdown
from bench.report import chosen, write_report
from bench.store import Store, damaged_message


def write_reports(directory: str | os.PathLike, html: bool = False) -> dict[str, pd.DataFrame]:
    """Write the tables (CSV) and figures (PNG, SVG) of a results folder, and with ``html``
    also ``report.html`` and ``report.md``; return the tables by name. A folder without a
    valid record is an error that says what it found."""
    store = Store(directory)
    if not store.cells.is_dir():
        raise RnnbenchError(f"'{directory}' holds no results (no cells/ folder); run `rnnbench run --out DIR` first")
    scan = store.scan()
    if not scan.records:
        found = f" {damaged_message(scan.damaged)}" if scan.damaged else ""
        raise RnnbenchError(f"no valid records in {store.cells}; nothing to report.{found}")
    tables = write_report(directory)
    write_figures(directory, chosen(tables["cells"]))
    if html:
        write_html(directory, tables)
        write_markdown(directory, tables)
    return tables


def figure_count(directory: str | os.PathLike) -> int:
    """Figures in a results folder (each also written as SVG)."""
    return len(list((Path(directory) / "figures").glob("*.png")))
