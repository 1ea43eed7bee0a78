"""`rnnbench report DIR --html`: one self-contained page (figures embedded), and a markdown
version for READMEs, from the tables (`bench.catalog.TABLES`) and figures of a results
folder, read once (`bench.results.Results`)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from bench.catalog import TABLES
from bench.files import write_outputs
from bench.results import Results
from bench.tables import markdown

FIGURE_ORDER = ("scores", "critical_difference", "gradients", "horizon", "curves")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0 1.5rem; }
details pre { background: #f7f7f7; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
.warning { background: #fff4e5; border: 1px solid #f0b46c; padding: 0.5rem 0.8rem; white-space: pre-wrap; }
"""


def in_bold(table: pd.DataFrame, cells: set[tuple[object, str]]) -> pd.DataFrame:
    """The table as escaped text, with ``cells`` ((row, column) pairs) in bold."""
    marked = table.astype(str).map(html.escape)
    for row, column in cells:
        if row in marked.index and column in marked.columns:
            marked.loc[row, column] = f"<strong>{marked.loc[row, column]}</strong>"
    return marked


def _cell(value: object) -> object:
    """A table cell as the plain tables show it: numbers to 3 digits, missing as "–"."""
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3g}"
    return "–" if value is None or value is pd.NA else value


def figure_paths(directory: Path) -> list[Path]:
    found = sorted((directory / "figures").glob("*.png"))
    return sorted(
        found,
        key=lambda p: (
            FIGURE_ORDER.index(p.stem.split("_")[0]) if p.stem.split("_")[0] in FIGURE_ORDER else len(FIGURE_ORDER),
            p.name,
        ),
    )


def write_html(results: Results, tables: dict[str, pd.DataFrame]) -> Path:
    directory = results.directory
    parts = [
        f"<h1>rnnbench results: {html.escape(directory.name)}</h1>",
        f"<p>{len(results.frame)} cells from <code>{html.escape(str(directory))}</code>.</p>",
    ]
    parts += [f'<p class="warning">{html.escape(message)}</p>' for message in results.warnings()]
    for spec in TABLES:
        table = tables.get(spec.name)
        if not spec.printed or table is None or table.empty:
            continue
        parts.append(f"<h2>{html.escape(spec.title)}</h2>")
        if spec.bold is not None:  # bold only where a difference is significant
            shown = in_bold(table.map(_cell), spec.bold(results, table))
            parts.append(shown.to_html(escape=False))
        else:
            parts.append(table.to_html(float_format=lambda v: f"{v:.3g}", na_rep="–"))
        if spec.note:
            parts.append(f"<p>{html.escape(spec.note)}</p>")
    parts.append("<h2>Figures</h2>")
    for path in figure_paths(directory):
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">')
    parts.append(_environment_and_config(results))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>rnnbench: {html.escape(directory.name)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    return _write_text(directory, directory / "report.html", page)


def _write_text(directory: Path, path: Path, text: str) -> Path:
    write_outputs(directory, "report", {path: lambda temporary: temporary.write_text(text, encoding="utf-8")})
    return path


def _environment_and_config(results: Results) -> str:
    environments = {json.dumps(r.environment, sort_keys=True) for r in results.records if r.environment}
    parts = ["<h2>Environment</h2>"]
    for environment in sorted(environments):
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in json.loads(environment).items()
        )
        parts.append(f"<table>{rows}</table>")
    parts.append("<h2>Configuration of every cell</h2>")
    for record in results.records:
        config = html.escape(json.dumps(record.config, indent=1))
        error = f": {html.escape(record.error)}" if record.error else ""
        summary = f"{html.escape(record.id)} — {record.status}{error}"
        parts.append(f"<details><summary>{summary}</summary><pre>{config}</pre></details>")
    return "".join(parts)


def write_markdown(results: Results, tables: dict[str, pd.DataFrame]) -> Path:
    directory = results.directory
    parts = [f"# rnnbench results: {directory.name}\n"]
    parts += [f"> **Warning.** {message}\n" for message in results.warnings()]
    for spec in TABLES:
        table = tables.get(spec.name)
        if spec.printed and table is not None and not table.empty:
            parts.append(f"## {spec.title}\n\n{markdown(table)}\n")
            if spec.note:
                parts.append(f"{spec.note}\n")
    for path in figure_paths(directory):
        parts.append(f"![{path.stem}](figures/{path.name})\n")
    return _write_text(directory, directory / "report.md", "\n".join(parts))
