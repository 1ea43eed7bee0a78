"""Tables in markdown documents (the README, the docs), generated from committed records and
never typed: `rnnbench tables FILE...` writes every marked block again from the records, and
`--check` (what the test suite runs) fails on any difference.

A block is marked in the document like this::

    <!-- table: horizon-fair leaderboard experiment="adding T=50" columns="verdict,seeds" -->
    | the generated table |
    <!-- /table -->

- the first word names a results folder under ``results/published/`` (or a path);
- the second names one of the report's tables (`bench.catalog.TABLES`), ``horizon``, or a
  CSV file kept in the folder (``compare_paths.csv``, shown as it is);
- ``experiment="..."`` keeps the rows of one experiment (tables that have that column or
  index level), ``rows="a,b"`` keeps those architectures, and ``columns="a,b"`` those columns,
  in that order (a name may be the start of one column's name: ``test``).
"""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from bench.catalog import TABLES
from bench.errors import ConfigError
from bench.horizon import horizon_table
from bench.report import build_tables
from bench.results import Results, load
from bench.tables import markdown

PUBLISHED = Path("results") / "published"
BLOCK = re.compile(r"(<!-- table: (?P<spec>.*?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


class Generator:
    """Builds the marked tables, reading each results folder once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loaded: dict[Path, tuple[Results, dict[str, pd.DataFrame]]] = {}

    def table(self, spec: str) -> str:
        words = shlex.split(spec)
        if len(words) < 2:
            raise ConfigError(f"table block '{spec}': expected FOLDER TABLE [experiment=...] [rows=...] [columns=...]")
        folder, name, *options = words
        filters = dict(option.split("=", 1) for option in options)
        unknown = set(filters) - {"experiment", "rows", "columns"}
        if unknown:
            raise ConfigError(f"table block '{spec}': unknown option(s) {', '.join(sorted(unknown))}")
        if name.endswith(".csv"):  # a measurement kept as CSV (make compare's), shown as it is
            return markdown(_filtered(pd.read_csv(self._folder(folder) / name), filters, spec)) + "\n"
        results, tables = self._load(folder)
        if name == "horizon":
            table = horizon_table(results.chosen())
        elif name in tables:
            table = tables[name]
        else:
            known = ", ".join([t.name for t in TABLES] + ["horizon"])
            raise ConfigError(f"table block '{spec}': no table '{name}' (known: {known})")
        return markdown(_filtered(table, filters, spec)) + "\n"

    def _folder(self, folder: str) -> Path:
        return self.root / PUBLISHED / folder if not Path(folder).is_absolute() else Path(folder)

    def _load(self, folder: str) -> tuple[Results, dict[str, pd.DataFrame]]:
        path = self._folder(folder)
        if path not in self.loaded:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a published folder has no damaged or duplicate record
                results = load(path)
            self.loaded[path] = (results, build_tables(results))
        return self.loaded[path]


def _filtered(table: pd.DataFrame, filters: dict[str, str], spec: str) -> pd.DataFrame:
    if "experiment" in filters:
        table = _rows(table, "experiment", [filters["experiment"]], spec, drop=True)
    if "rows" in filters:
        table = _rows(table, "arch", filters["rows"].split(","), spec)
    filled = table
    if "experiment" in filters or "rows" in filters:  # columns only other rows filled
        filled = table.loc[:, [c for c in table.columns if table[c].replace("", pd.NA).notna().any()]]
    if "columns" in filters:  # a column named in full stays even where empty; a prefix picks a filled one
        names = [name.strip() for name in filters["columns"].split(",")]
        return table[[name if name in table.columns else _column(filled, name, spec) for name in names]]
    return filled


def _column(table: pd.DataFrame, name: str, spec: str) -> str:
    """The column called ``name``, or the one column whose name starts with it (``test``
    names the leaderboard's test column, whatever the metric)."""
    if name in table.columns:
        return name
    starting = [c for c in table.columns if str(c).startswith(name)]
    if len(starting) != 1:
        raise ConfigError(f"table block '{spec}': no single column '{name}'; the table has {list(table.columns)}")
    return starting[0]


def _rows(table: pd.DataFrame, level: str, values: list[str], spec: str, drop: bool = False) -> pd.DataFrame:
    """The rows whose ``level`` (an index level or a column) is one of ``values``."""
    if level == "experiment" and "task" in (table.index.names or []) and "experiment" not in table.index.names:
        level = "task"  # the generalisation and throughput tables name the experiment "task"
    if level in (table.index.names or []):
        kept = table[table.index.get_level_values(level).isin(values)]
        return kept.droplevel(level) if drop and isinstance(kept.index, pd.MultiIndex) else kept
    if level in table.columns:
        kept = table[table[level].isin(values)]
        return kept.drop(columns=[level]) if drop else kept
    if table.index.name == level or (level == "arch" and table.index.name in ("arch", None)):
        return table[table.index.isin(values)]
    raise ConfigError(f"table block '{spec}': the table has no {level} to keep rows by")


def regenerate(text: str, generator: Generator) -> str:
    """``text`` with every marked block written again."""
    return BLOCK.sub(lambda m: m.group(1) + generator.table(m.group("spec")) + m.group(4), text)


def write_documents(paths: Iterable[Path], root: Path, check: bool = False) -> list[Path]:
    """Regenerate the marked tables of each document; return those that changed (with
    ``check``, change nothing and return those that would)."""
    generator = Generator(root)
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = regenerate(text, generator)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed
