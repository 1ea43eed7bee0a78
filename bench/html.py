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
from bench.tables import Metrics, markdown, summary_column

FIGURE_ORDER = ("scores", "gradients", "horizon", "curves")
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


def best_per_column(frame: pd.DataFrame, summary: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """The summary table with the best architecture of each column in bold (by each
    metric's declared direction)."""
    marked = summary.map(html.escape)
    for (experiment, task), cells in frame.groupby(["experiment", "task"], sort=False):
        if task not in metrics:
            continue
        metric = metrics[task]
        column = summary_column(experiment, metric)
        means = cells[cells["status"] != "error"].groupby("model")[f"test_{metric.name}"].mean().dropna()
        if column in marked and not means.empty:
            best = means.idxmax() if metric.higher_is_better else means.idxmin()
            marked.loc[best, column] = f"<strong>{marked.loc[best, column]}</strong>"
    return marked


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
        summary = spec.name == "summary"
        shown = best_per_column(results.chosen(), table, results.metrics) if summary else table
        parts.append(f"<h2>{html.escape(spec.title)}</h2>")
        parts.append(shown.to_html(escape=not summary, float_format=lambda v: f"{v:.3g}", na_rep="–"))
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
