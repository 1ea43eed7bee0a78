"""`rnnbench report DIR --html`: one self-contained page (figures embedded), and a markdown
version for READMEs, from the tables and figures of a results folder."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from bench.files import write_outputs
from bench.leaderboard import higher_is_better
from bench.report import chosen, markdown, summary_column
from bench.stats import RANKING_NOTE
from bench.store import Store

SECTIONS = {
    "summary": "Test metric (mean ± std over seeds; best per column in bold)",
    "leaderboard": "Leaderboard (test metric at each model's selected setting, 95% confidence intervals)",
    "comparisons": "Pairwise comparisons (difference of test means a - b, its 95% CI, Welch's t-test)",
    "tuning": "Tuning: mean validation metric of every tuned setting (the best is selected; test never enters)",
    "generalisation": "Length generalisation: test metric at the trained length and at other lengths",
    "solved": "Seeds that solved each probe",
    "gradients": "Gradient decay going back in time (median over seeds)",
    "throughput": "Throughput (median over seeds)",
}
FIGURE_ORDER = ("scores", "gradients", "horizon", "curves")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0 1.5rem; }
details pre { background: #f7f7f7; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
"""


def best_per_column(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The summary table with the best architecture of each column in bold."""
    marked = summary.map(html.escape)
    for (experiment, metric), cells in frame.groupby(["experiment", "metric"], sort=False):
        column = summary_column(experiment, metric)
        means = cells[cells["status"] != "error"].groupby("model")[f"test_{metric}"].mean().dropna()
        if column in marked and not means.empty:
            best = means.idxmax() if higher_is_better(cells) else means.idxmin()
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


def write_html(directory: str | Path, tables: dict[str, pd.DataFrame]) -> Path:
    directory = Path(directory)
    frame = tables["cells"]
    parts = [
        f"<h1>rnnbench results: {html.escape(directory.name)}</h1>",
        f"<p>{len(frame)} cells from <code>{html.escape(str(directory))}</code>.</p>",
    ]
    for name, title in SECTIONS.items():
        table = tables.get(name)
        if table is None or table.empty:
            continue
        shown = best_per_column(chosen(frame), table) if name == "summary" else table
        parts.append(f"<h2>{title}</h2>")
        parts.append(shown.to_html(escape=name != "summary", float_format=lambda v: f"{v:.3g}", na_rep="–"))
        if name == "leaderboard":
            parts.append(f"<p>{html.escape(RANKING_NOTE)}</p>")
    parts.append("<h2>Figures</h2>")
    for path in figure_paths(directory):
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">')
    parts.append(_environment_and_config(directory))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>rnnbench: {html.escape(directory.name)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    return _write_text(directory, directory / "report.html", page)


def _write_text(directory: Path, path: Path, text: str) -> Path:
    write_outputs(directory, "report", {path: lambda temporary: temporary.write_text(text, encoding="utf-8")})
    return path


def _environment_and_config(directory: Path) -> str:
    records = list(Store(directory).records())
    environments = {json.dumps(r.get("environment", {}), sort_keys=True) for r in records if r.get("environment")}
    parts = ["<h2>Environment</h2>"]
    for environment in sorted(environments):
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in json.loads(environment).items()
        )
        parts.append(f"<table>{rows}</table>")
    parts.append("<h2>Configuration of every cell</h2>")
    for record in records:
        config = html.escape(json.dumps(record.get("config", {}), indent=1))
        parts.append(
            f"<details><summary>{html.escape(record['id'])} — {record['status']}</summary><pre>{config}</pre></details>"
        )
    return "".join(parts)


def write_markdown(directory: str | Path, tables: dict[str, pd.DataFrame]) -> Path:
    directory = Path(directory)
    parts = [f"# rnnbench results: {directory.name}\n"]
    for name, title in SECTIONS.items():
        table = tables.get(name)
        if table is not None and not table.empty:
            parts.append(f"## {title}\n\n{markdown(table)}\n")
            if name == "leaderboard":
                parts.append(f"{RANKING_NOTE}\n")
    for path in figure_paths(directory):
        parts.append(f"![{path.stem}](figures/{path.name})\n")
    return _write_text(directory, directory / "report.md", "\n".join(parts))
