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
    """Write every table as CSV into the results folder, and as LaTeX those declared so;
    return them by name."""
    directory = results.directory
    tables = build_tables(results)
    specs = {spec.name: spec for spec in TABLES}
    writes = {
        directory / f"{name}.csv": functools.partial(_write_csv, table, index=not specs[name].flat)
        for name, table in tables.items()
    }
    for name, table in tables.items():
        spec = specs[name]
        if spec.latex is not None and not table.empty:
            bold = spec.bold(results, table) if spec.bold else set()
            writes[directory / f"{name}.tex"] = functools.partial(_write_latex, spec.latex(table), bold, spec.title)
    write_outputs(directory, "table", writes)
    return tables


def _write_latex(table: pd.DataFrame, bold: set[tuple[object, str]], caption: str, path: Path) -> None:
    """A booktabs table (rules from pandas' Styler), with the ``bold`` cells in bold."""
    flat = table.reset_index()
    index_names = [name for name in table.index.names if name]
    positions = {row: i for i, row in enumerate(table.index)}
    shown = flat.map(lambda v: "–" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v)
    styler = shown.style.hide(axis="index").format(precision=3, escape="latex")
    for row, column in bold:
        if row in positions and column in shown:
            styler = styler.set_properties(subset=pd.IndexSlice[[positions[row]], [column]], **{"font-weight": "bold"})
    latex = styler.to_latex(
        hrules=True,
        convert_css=True,
        caption=caption,
        column_format="l" * len(index_names) + "r" * (len(shown.columns) - len(index_names)),
    )
    path.write_text(latex, encoding="utf-8")


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
