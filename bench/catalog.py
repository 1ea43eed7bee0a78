"""The report's tables, declared once: the CSV files, the CLI's printout, report.md and
report.html all follow `TABLES`, in its order and with its titles.

Adding a table is one entry here (and the function that builds it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bench.leaderboard import (
    UNTRAINED,
    across_table,
    bold_in_leaderboard,
    bold_in_summary,
    comparisons_table,
    leaderboard_table,
    notes_table,
    tuning_table,
)
from bench.results import Results
from bench.tables import (
    failures_table,
    generalisation_table,
    gradient_table,
    seeds_table,
    state_table,
    summary_table,
    throughput_table,
    verdict_table,
)


@dataclass(frozen=True)
class Table:
    """One table of the report.

    - ``name``: its file is ``<name>.csv``;
    - ``title``: its heading in the CLI's printout, report.md and report.html;
    - ``build(results)``: the table (empty when the results have nothing for it);
    - ``flat``: written without its row index (a plain list of rows);
    - ``note``: a sentence printed below it;
    - ``printed``: shown in the printout and the reports (False: CSV only);
    - ``latex(table)``: the part of the table a paper shows, written as ``<name>.tex``
      (booktabs);
    - ``bold(results, table)``: the cells set in bold in the HTML and LaTeX versions: only
      where a difference is significant.
    """

    name: str
    title: str
    build: Callable[[Results], pd.DataFrame]
    flat: bool = False
    note: str = ""
    printed: bool = True
    latex: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    bold: Callable[[Results, pd.DataFrame], set[tuple[object, str]]] | None = None  # (row, column) cells


VERDICT_NOTE = (
    "Verdict: the best model has the most seeds solved (on a task with a solved threshold), then the best "
    "centre; another model is 'below the best' when the t-test on the metric's scale (paired by seed where the "
    "task's data depend only on the seed and the two models share two seeds or more), Holm-corrected within the "
    "experiment, gives p < 0.05 in the best's "
    "favour, else 'tied with the best': not told apart, which is not 'equal' (the notes say how many seeds "
    "would decide it). Centres and 95% intervals are computed on the metric's scale (log for errors, logit for "
    "accuracies) and transformed back, so they stay inside the metric's range. A model with one seed gets no "
    "verdict and no interval; a failed seed counts as the worst value. "
    f"{UNTRAINED} marks weights that never improved on their initialisation."
)


def paper_columns(leaderboard: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as a paper shows it: the result, its verdict, the budget, the seeds."""
    kept = ("encoder params", "seeds", "solved (95% CI)", "verdict")
    return leaderboard[[c for c in leaderboard.columns if str(c).startswith("test ") or c in kept]]


TABLES = [
    Table("cells", "Every cell", lambda r: r.frame, flat=True, printed=False),
    Table(
        "summary",
        "Test metric, mean ± std over seeds",
        lambda r: summary_table(r.chosen(), r.metrics),
        latex=lambda table: table,
        bold=lambda r, table: bold_in_summary(r.verdicts, table),
    ),
    Table(
        "failures",
        "Cells that did not end ok (an error's traceback is in its record, cells/<id>.json)",
        lambda r: failures_table(r.frame),
        flat=True,
    ),
    Table(
        "leaderboard",
        "Leaderboard (test metric at each model's selected setting: centre and 95% interval, verdict against the best)",
        lambda r: leaderboard_table(r.verdicts, r.frame),
        note=VERDICT_NOTE,
        latex=paper_columns,
        bold=lambda r, table: bold_in_leaderboard(r.verdicts, table),
    ),
    Table(
        "notes",
        "What makes a comparison unequal or undecided",
        lambda r: notes_table(r.verdicts, r.chosen()),
        flat=True,
    ),
    Table(
        "comparisons",
        "Pairwise comparisons (t-test on the metric's scale, Holm-corrected; P(a better than b); exact test of the "
        "solved counts)",
        lambda r: comparisons_table(r.verdicts),
        flat=True,
    ),
    Table(
        "across",
        "Across experiments: mean rank, Friedman's test and the Nemenyi critical difference",
        lambda r: across_table(r.verdicts),
    ),
    Table(
        "tuning",
        "Tuning: mean validation metric of every tuned setting over the tuning seeds (the best is selected; test "
        "never enters)",
        lambda r: tuning_table(r.frame, r.metrics),
    ),
    Table(
        "state",
        "Test metric against the recurrent state per sequence (where cells differ in it: --match state=N)",
        lambda r: state_table(r.chosen(), r.metrics),
    ),
    Table(
        "generalisation",
        "Length generalisation: test metric at the trained length and at other lengths",
        lambda r: generalisation_table(r.chosen(), r.metrics),
    ),
    Table("solved", "Seeds that solved each task", lambda r: verdict_table(r.chosen())),
    Table("gradients", "Gradient decay going back in time (median over seeds)", lambda r: gradient_table(r.chosen())),
    Table("throughput", "Throughput (median over seeds)", lambda r: throughput_table(r.chosen())),
    Table("seeds", "Every seed's value", lambda r: seeds_table(r.frame, r.metrics), flat=True, printed=False),
]
