"""The report's tables, declared once: the CSV files, the CLI's printout, report.md and
report.html all follow `TABLES`, in its order and with its titles.

Adding a table is one entry here (and the function that builds it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bench.leaderboard import comparisons_table, leaderboard_table, tuning_table
from bench.results import Results
from bench.stats import RANKING_NOTE
from bench.tables import (
    failures_table,
    generalisation_table,
    gradient_table,
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
    - ``printed``: shown in the printout and the reports (False: CSV only).
    """

    name: str
    title: str
    build: Callable[[Results], pd.DataFrame]
    flat: bool = False
    note: str = ""
    printed: bool = True


TABLES = [
    Table("cells", "Every cell", lambda r: r.frame, flat=True, printed=False),
    Table(
        "summary",
        "Test metric, mean ± std over seeds",
        lambda r: summary_table(r.chosen(), r.metrics),
    ),
    Table(
        "failures",
        "Cells that did not end ok (an error's traceback is in its record, cells/<id>.json)",
        lambda r: failures_table(r.frame),
        flat=True,
    ),
    Table(
        "leaderboard",
        "Leaderboard (test metric at each model's selected setting, 95% confidence intervals)",
        lambda r: leaderboard_table(r.chosen(), r.metrics),
        note=RANKING_NOTE,
    ),
    Table(
        "comparisons",
        "Pairwise comparisons (difference of test means a - b, its 95% CI, Welch's t-test)",
        lambda r: comparisons_table(r.chosen(), r.metrics),
        flat=True,
    ),
    Table(
        "tuning",
        "Tuning: mean validation metric of every tuned setting (the best is selected; test never enters)",
        lambda r: tuning_table(r.frame, r.metrics),
    ),
    Table(
        "generalisation",
        "Length generalisation: test metric at the trained length and at other lengths",
        lambda r: generalisation_table(r.chosen(), r.metrics),
    ),
    Table("solved", "Seeds that solved each task", lambda r: verdict_table(r.chosen())),
    Table("gradients", "Gradient decay going back in time (median over seeds)", lambda r: gradient_table(r.chosen())),
    Table("throughput", "Throughput (median over seeds)", lambda r: throughput_table(r.chosen())),
]
