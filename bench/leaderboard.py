"""The fair-comparison tables, from the verdicts of `bench.verdicts`:

- the leaderboard: per experiment and model, the verdict against the best (with the
  Holm-corrected p-value), the budget, the selected setting, the test metric's centre and
  95% interval on the metric's scale, the seeds and failures, the solved fraction, and notes
  (untrained cells, a selection at the edge of its grid);
- every pairwise comparison: the test on the metric's scale (raw and Holm-corrected p),
  P(A better than B) with its interval, the solved counts' exact test, and the seeds per model
  that would give 80% power where the pair is not told apart;
- the tuning table: every tuned setting's mean validation metric, the one selected, and
  whether it sits at an edge of the grid;
- the notes of each experiment: what makes its comparison unequal or weak.

The leaderboard and the comparisons see the reported cells (`bench.results.chosen`), the
tuning table sees the tuning seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench import stats
from bench.metrics import Metric
from bench.results import value_name
from bench.tables import Metrics, experiments, first_present, summary_column
from bench.verdicts import NO_VERDICT, Experiment, Seeds, ranks, solved_count

UNTRAINED = "†"  # marks a value from weights that never improved on their initialisation


def shown_interval(summary: dict[str, float], metric: Metric) -> str:
    """``centre [low, high]`` as the metric is shown; the centre alone below two values."""
    if not summary["n"]:
        return "–"
    centre = metric.show(summary["centre"], detail=True)
    if math.isnan(summary["ci_low"]):
        return centre
    return f"{centre} [{metric.show(summary['ci_low'], detail=True)}, {metric.show(summary['ci_high'], detail=True)}]"


def leaderboard_table(verdicts: list[Experiment], frame: pd.DataFrame) -> pd.DataFrame:
    """Per experiment and model, best first (see the module's docstring)."""
    rows = []
    edges = grid_edges(frame)
    for experiment in verdicts:
        metric = experiment.metric
        for model, seeds in experiment.seeds.items():
            verdict, p = experiment.verdicts[model]
            group = seeds.cells
            row = {
                "experiment": experiment.name,
                "arch": model,
                "verdict": verdict if seeds.n >= 2 else f"{NO_VERDICT} ({seeds.n} seed)",
                "p vs best (Holm)": p,
                "hidden": first_present(group["run.hidden_size"]),
                "encoder params": first_present(group["encoder_params"]),
                "params": first_present(group["params"]),
                "state": first_present(group["state_size"]),
                "selected": first_present(group["setting"]) or "–",
                f"test {metric.titled} (centre [95% CI])": shown_interval(seeds.summary, metric)
                + (f" {UNTRAINED}" if seeds.untrained else ""),
                "seeds": seeds.n,
                "failed": seeds.failures,
            }
            if seeds.solved is not None:
                low, high = stats.wilson(seeds.solved, seeds.n)
                row["solved (95% CI)"] = f"{seeds.solved}/{seeds.n} [{low:.2f}, {high:.2f}]"
            row["notes"] = "; ".join(_model_notes(seeds, edges.get((experiment.name, model), [])))
            rows.append(row)
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    for column in ("hidden", "encoder params", "params", "state"):
        table[column] = pd.array(table[column], dtype="Int64")
    if "solved (95% CI)" in table:
        table["solved (95% CI)"] = table["solved (95% CI)"].fillna("")
    return table.set_index(["experiment", "arch"])


def _model_notes(seeds: Seeds, edges: list[str]) -> list[str]:
    notes = []
    if seeds.untrained:
        notes.append(f"{UNTRAINED} seed(s) {', '.join(map(str, seeds.untrained))} never beat the initial weights")
    if seeds.failures:
        notes.append(f"{seeds.failures} seed(s) failed (counted as the worst)")
    if 2 <= seeds.n < stats.MIN_SEEDS:
        notes.append(f"{seeds.n} seeds: fewer than {stats.MIN_SEEDS}, a weak verdict")
    return notes + edges


COMPARISON_COLUMNS = [
    "experiment", "metric", "a", "b", "paired", "n_a", "n_b", "failed_a", "failed_b", "diff", "scale", "shift",
    "shift_low", "shift_high", "p_raw", "p_holm", "p_better", "p_better_low", "p_better_high", "seeds_for_power",
    "solved_a", "solved_b", "p_solved_raw", "p_solved_holm",
]  # fmt: skip


def comparisons_table(verdicts: list[Experiment]) -> pd.DataFrame:
    """Every pair of models in each experiment (see the module's docstring): ``diff`` is the
    difference of the raw means a - b, ``shift`` the difference on the metric's scale
    (``scale``) with its 95% interval, ``p_better`` = P(a better than b)."""
    rows = [row for experiment in verdicts for row in experiment.comparisons]
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    if "solved_a" in table and table["solved_a"].isna().all():
        table = table.drop(columns=["solved_a", "solved_b", "p_solved_raw", "p_solved_holm"])
    return table


def tuning_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Per experiment and model, every tuned setting's mean validation metric ± std over the
    tuning seeds, which one was selected (by that mean alone), and whether the selected value
    sits at an edge of the values tried."""
    rows = []
    edges = grid_edges(frame)
    tuning = frame[(frame["setting"] != "") & ~frame["confirmation"].astype(bool)]
    for experiment, metric, cells in experiments(tuning, metrics):
        for model, by_model in cells.groupby("model", sort=False):
            for setting, group in by_model.groupby("setting", sort=False):
                row = _tuning_row(experiment, model, setting, group, metric)
                row["edge"] = "; ".join(edges.get((experiment, model), [])) if row["selected"] else ""
                rows.append(row)
    return pd.DataFrame(rows).set_index(["experiment", "arch", "setting"]) if rows else pd.DataFrame()


def _tuning_row(experiment: str, model: str, setting: str, group: pd.DataFrame, metric: Metric) -> dict[str, str]:
    values = group[f"valid_{metric.name}"].astype(float)
    finite = values[np.isfinite(values)]
    failed = len(values) - len(finite)
    spread = f" ± {metric.show(finite.std(ddof=1), detail=True)}" if len(finite) > 1 else ""
    value = f"{metric.show(finite.mean(), detail=True)}{spread} (n={len(finite)})" if len(finite) else "–"
    return {
        "experiment": experiment,
        "arch": model,
        "setting": setting,
        f"valid {metric.titled}": value + (f", {failed} failed" if failed else ""),
        "selected": "yes" if group["selected"].all() else "",
    }


def grid_edges(frame: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """Per (experiment, model): a note for each tuned numeric key whose selected value is the
    smallest or the largest tried (the best may lie beyond the grid).

    Where the task judges "solved" and no tuning seed solved it at any setting, the profile is
    flat at failure: the note says so, because the mean that picked the edge is then noise
    around chance, and a wider grid is no more likely to hold a winner than the one tried.
    """
    notes: dict[tuple[str, str], list[str]] = {}
    tuning = frame[(frame["setting"] != "") & ~frame["confirmation"].astype(bool)]
    for (experiment, model), cells in tuning.groupby(["experiment", "model"], sort=False):
        keys = {key for listed in cells["tuned"].dropna() for key in listed.split(",") if key}
        chosen = cells[cells["selected"]]
        flat = solved_count(cells) == 0
        for key in sorted(keys):
            column = next((c for c in (f"run.{key}", f"arch.{key.removeprefix('arch.')}") if c in cells), None)
            if column is None or chosen.empty:
                continue
            tried = pd.to_numeric(cells[column], errors="coerce").dropna().unique()
            value = pd.to_numeric(chosen[column], errors="coerce").iloc[0]
            if len(tried) < 2 or not np.isfinite(value) or tried.min() < value < tried.max():
                continue
            side = "largest" if value == tried.max() else "smallest"
            reading = (
                f"no setting solved a seed (0 of {len(cells)} tuning runs), so the choice is noise around failure"
                if flat
                else "the best may lie beyond the grid"
            )
            note = f"{key}={value_name(value)} is the {side} tried: {reading}"
            notes.setdefault((experiment, model), []).append(note)
    return notes


def decided(verdicts: list[Experiment]) -> dict[str, Experiment]:
    """The experiments whose best model is better than every other, after correction: the
    only places a table may set a value in bold."""
    return {experiment.name: experiment for experiment in verdicts if experiment.decided()}


def bold_in_leaderboard(verdicts: list[Experiment], table: pd.DataFrame) -> set[tuple[object, str]]:
    """The (row, column) of each decided experiment's best test value."""
    column = next((c for c in table.columns if str(c).startswith("test ")), None)
    return {((name, e.best), column) for name, e in decided(verdicts).items()} if column else set()


def bold_in_summary(verdicts: list[Experiment], table: pd.DataFrame) -> set[tuple[object, str]]:
    """The (row, column) of each decided experiment's best model in the summary table."""
    return {(e.best, summary_column(name, e.metric)) for name, e in decided(verdicts).items()}


def across_table(verdicts: list[Experiment]) -> pd.DataFrame:
    """Across experiments (Demšar 2006): each model's mean rank over the experiments where
    every model of the table has a verdict, Friedman's p-value, the Nemenyi critical
    difference, and whether the model is told apart from the best-ranked one. Empty below
    three such experiments or three models (the test needs them)."""
    models = sorted(set.intersection(*(set(e.seeds) for e in verdicts))) if verdicts else []
    usable = [e for e in verdicts if all(e.seeds[m].n >= 2 for m in models)]
    if len(usable) < 3 or len(models) < 3:
        return pd.DataFrame()
    result = stats.friedman(np.vstack([ranks(e, models) for e in usable]))
    mean_ranks = dict(zip(models, result["mean_ranks"], strict=True))
    best = min(mean_ranks.values())
    rows = [
        {
            "arch": model,
            "mean rank": rank,
            "experiments": result["experiments"],
            "Friedman p": result["p_value"],
            "critical difference": result["critical_difference"],
            "verdict": "best"
            if rank == best
            else "below the best"
            if result["p_value"] < stats.ALPHA and rank - best > result["critical_difference"]
            else "tied with the best",
        }
        for model, rank in sorted(mean_ranks.items(), key=lambda item: item[1])
    ]
    return pd.DataFrame(rows).set_index("arch")


def notes_table(verdicts: list[Experiment], frame: pd.DataFrame) -> pd.DataFrame:
    """What makes each experiment's comparison unequal or weak: run settings that differ
    between its architectures, budgets that are not matched, records from different code,
    and the seeds that would decide what is not decided."""
    rows = []
    for experiment in verdicts:
        cells = frame[frame["experiment"] == experiment.name]
        notes = [*_differing_settings(cells), *_unmatched_budgets(cells)]
        codes = sorted(cells["code"].dropna().unique()) if "code" in cells else []
        if len(codes) > 1:
            notes.append(f"its records come from {len(codes)} versions of the code: {', '.join(codes)}")
        notes += _undecided(experiment)
        rows += [{"experiment": experiment.name, "note": note} for note in notes]
    return pd.DataFrame(rows, columns=["experiment", "note"])


SETTINGS_THAT_MAY_DIFFER = {"run.hidden_size"}  # what --match sets per architecture


def _differing_settings(cells: pd.DataFrame) -> list[str]:
    tuned = {f"run.{k}" for listed in cells["tuned"].dropna() for k in listed.split(",") if k}
    notes = []
    for column in sorted(c for c in cells if c.startswith("run.")):
        if column in tuned or (column in SETTINGS_THAT_MAY_DIFFER and cells["match"].notna().all()):
            continue
        by_arch = cells.groupby("arch")[column].agg(lambda v: ", ".join(sorted({str(x) for x in v})))
        if by_arch.nunique() > 1:
            listed = "; ".join(f"{arch}: {value}" for arch, value in by_arch.items())
            notes.append(f"{column.removeprefix('run.')} differs between the architectures ({listed})")
    return notes


def _unmatched_budgets(cells: pd.DataFrame) -> list[str]:
    if cells["match"].notna().all():
        return []
    params = cells.groupby("model")["encoder_params"].first().dropna()
    if len(params) > 1 and params.max() > 1.1 * params.min():
        return [
            f"encoder parameters differ from {int(params.min()):,} to {int(params.max()):,}: budgets are not "
            f"matched (--match params=N gives every architecture the same)"
        ]
    return []


def _undecided(experiment: Experiment) -> list[str]:
    """For each model tied with the best: the seeds per model that would decide it."""
    notes = []
    best = next((m for m, (v, _) in experiment.verdicts.items() if v == "best"), None)
    for model, (verdict, p) in experiment.verdicts.items():
        if verdict != "tied with the best":
            continue
        row = next(r for r in experiment.comparisons if {r["a"], r["b"]} == {best, model})
        seeds = row["seeds_for_power"]
        needed = (
            f"about {int(seeds)} seeds per model would give 80% power at the effect seen"
            if math.isfinite(seeds)
            else "the seeds show no difference to power a test with"
            if seeds == math.inf
            else "too few seeds to estimate how many would decide it"
        )
        notes.append(f"{model} vs {best}: not told apart (Holm p = {p:.3g}); {needed}")
    return notes
