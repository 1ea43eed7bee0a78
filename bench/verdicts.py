"""The verdicts of one results folder, computed once: for each experiment, each model's seeds,
their summary, every pairwise comparison (Holm-corrected within the experiment), and which
models the seeds do not tell apart from the best. The leaderboard, the comparisons, the
summary's bold, the LaTeX tables and the notes all read them (`bench.stats` says how each
number is computed).

A model needs two seeds for a verdict. The best is the model with the most seeds solved
(tasks with a solved threshold), then the best centre on the metric's scale; every other
model is "tied with the best" unless the corrected test says it is worse.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from bench import stats
from bench.metrics import Metric

BEST, TIED, BELOW, NO_VERDICT = "best", "tied with the best", "below the best", "–"


@dataclass
class Seeds:
    """One model's seeds in one experiment."""

    model: str
    cells: pd.DataFrame
    values: dict[int, float]  # seed -> test value; a failure is the metric's worst (+-inf)
    failures: int  # seeds that diverged or failed without a finite test value
    solved: int | None  # seeds that solved the task (failures never do); None: no threshold
    summary: dict[str, float]  # `stats.summary` of the finite values
    untrained: list[int]  # seeds whose reported weights are the initial ones (never improved on)
    order: tuple = ()  # how the leaderboard orders models: smaller is better (`_ordered`)

    @property
    def n(self) -> int:
        return len(self.values)


@dataclass
class Experiment:
    name: str
    metric: Metric
    paired: bool
    seeds: dict[str, Seeds]  # in the order the leaderboard shows them: the best first
    comparisons: list[dict[str, object]] = field(default_factory=list)
    verdicts: dict[str, tuple[str, float]] = field(default_factory=dict)  # model -> (verdict, p vs best)

    @property
    def best(self) -> str | None:
        return next((m for m, (verdict, _) in self.verdicts.items() if verdict == BEST), None)

    @property
    def thresholded(self) -> bool:
        return any(s.solved is not None for s in self.seeds.values())

    def decided(self) -> bool:
        """Whether the best is better than every other model, after correction (the only
        case in which a table may set it in bold)."""
        others = [verdict for verdict, _ in self.verdicts.values() if verdict != BEST]
        return len(others) < len(self.verdicts) and bool(others) and all(v == BELOW for v in others)


def analyse(frame: pd.DataFrame, metrics: dict[str, Metric]) -> list[Experiment]:
    """The verdicts of every experiment in ``frame`` (the cells the tables report)."""
    found = []
    for name, cells in frame.groupby("experiment", sort=False):
        task = cells["task"].iloc[0]
        if task not in metrics:
            continue
        metric = metrics[task]
        paired = bool(cells["seeded_data"].fillna(True).all()) if "seeded_data" in cells else True
        seeds = {model: _seeds(model, group, metric) for model, group in cells.groupby("model", sort=True)}
        experiment = Experiment(name, metric, paired, _ordered(seeds, metric))
        _compare(experiment)
        found.append(experiment)
    return found


def solved(cells: pd.DataFrame) -> pd.Series:
    """Per cell, whether it solved its task: a cell that diverged or failed counts as not
    solved, never as missing."""
    return cells["solved"].fillna(False).astype(bool) & (cells["status"] == "ok")


def solved_count(cells: pd.DataFrame) -> int | None:
    """The cells that solved their task; None where the task judges no "solved"."""
    return int(solved(cells).sum()) if cells["solved"].notna().any() else None


def _seeds(model: str, cells: pd.DataFrame, metric: Metric) -> Seeds:
    column = f"test_{metric.name}"
    raw = cells[column].astype(float) if column in cells else pd.Series(np.nan, index=cells.index)
    worst = -math.inf if metric.higher_is_better else math.inf
    values = {int(seed): (v if math.isfinite(v) else worst) for seed, v in zip(cells["seed"], raw, strict=True)}
    failed = ~np.isfinite(raw.to_numpy())
    untrained = cells.loc[cells["best_step"].eq(0) & cells["steps"].gt(0), "seed"] if "best_step" in cells else []
    summary = stats.summary(raw.to_numpy(), metric)
    return Seeds(
        model, cells, values, int(failed.sum()), solved_count(cells), summary, sorted(int(s) for s in untrained)
    )


def _analysed(seeds: Seeds, worst_finite: float) -> np.ndarray:
    """A model's values for the t-tests: a failure takes the worst finite value observed in
    the experiment."""
    return np.array([v if math.isfinite(v) else worst_finite for v in seeds.values.values()])


def _ordered(seeds: dict[str, Seeds], metric: Metric) -> dict[str, Seeds]:
    """Best first: most seeds solved (on a task with a threshold), then the best centre on
    the metric's scale of the values the tests use; models without a verdict last."""
    worst = _worst_finite(seeds, metric)

    def key(item: tuple[str, Seeds]) -> tuple:
        s = item[1]
        if s.n < 2:
            return (1, 0.0, 0.0, item[0])
        solved = -(s.solved / s.n) if s.solved is not None else 0.0
        centre = float(np.mean(stats.to_scale(_analysed(s, worst), metric)))
        return (0, solved, -centre if metric.higher_is_better else centre, item[0])

    for item in seeds.items():
        item[1].order = key(item)[:3]
    return dict(sorted(seeds.items(), key=key))


def ranks(experiment: Experiment, models: list[str]) -> np.ndarray:
    """The rank of each of ``models`` in the experiment's order (1 = best, ties averaged)."""
    keys = [experiment.seeds[m].order for m in models]
    dense = {key: i for i, key in enumerate(sorted(set(keys)))}
    return rankdata([dense[key] for key in keys])


def _worst_finite(seeds: dict[str, Seeds], metric: Metric) -> float:
    finite = [v for s in seeds.values() for v in s.values.values() if math.isfinite(v)]
    if not finite:
        return math.nan
    return min(finite) if metric.higher_is_better else max(finite)


def _pair(experiment: Experiment, a: Seeds, b: Seeds) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whether the pair is compared seed by seed, then the two models' values (for the tests,
    for P(A > B)). A paired experiment falls back to the unpaired test for two models with
    fewer than two seeds in common (a tuned setting confirmed on other seeds, a partial run):
    no common seeds must not read as "not told apart"."""
    worst = _worst_finite(experiment.seeds, experiment.metric)
    common = sorted(set(a.values) & set(b.values))
    paired = experiment.paired and len(common) >= 2
    if paired:
        ranked_a = np.array([a.values[s] for s in common])
        ranked_b = np.array([b.values[s] for s in common])
    else:
        ranked_a, ranked_b = np.array(list(a.values.values())), np.array(list(b.values.values()))
    tested_a = np.where(np.isfinite(ranked_a), ranked_a, worst)
    tested_b = np.where(np.isfinite(ranked_b), ranked_b, worst)
    return paired, tested_a, tested_b, ranked_a, ranked_b


def _compare(experiment: Experiment) -> None:
    metric, rows, tested = experiment.metric, [], []
    for a, b in itertools.combinations(sorted(experiment.seeds), 2):
        first, second = experiment.seeds[a], experiment.seeds[b]
        paired, tested_a, tested_b, ranked_a, ranked_b = _pair(experiment, first, second)
        row: dict[str, object] = {
            "experiment": experiment.name,
            "metric": metric.name,
            "a": a,
            "b": b,
            "paired": paired,
            "scale": stats.scale_of(metric),
            "diff": first.summary["mean"] - second.summary["mean"],
            **stats.compare(tested_a, tested_b, metric, paired),
            **stats.improvement(ranked_a, ranked_b, metric, paired),
            "n_a": first.n,
            "n_b": second.n,
            "failed_a": first.failures,
            "failed_b": second.failures,
        }
        if first.solved is not None and second.solved is not None:
            row.update(
                solved_a=first.solved,
                solved_b=second.solved,
                p_solved_raw=stats.solved_test(first.solved, first.n, second.solved, second.n),
            )
        rows.append(row)
        tested.append((tested_a, tested_b, paired))
    # the seeds that would decide each pair, at the level Holm's procedure holds it to
    levels = stats.holm_levels([row["p_raw"] for row in rows])
    for row, (tested_a, tested_b, paired), level in zip(rows, tested, levels, strict=True):
        row["seeds_for_power"] = stats.seeds_for_power(tested_a, tested_b, metric, paired, alpha=level)
    for raw, adjusted in (("p_raw", "p_holm"), ("p_solved_raw", "p_solved_holm")):
        corrected = stats.holm([row.get(raw, math.nan) for row in rows])
        for row, value in zip(rows, corrected, strict=True):
            if raw in row:
                row[adjusted] = value
    for row in rows:  # the seeds for power matter only where the pair is not told apart
        if row["p_holm"] < stats.ALPHA:
            row["seeds_for_power"] = math.nan
    experiment.comparisons = rows
    experiment.verdicts = _verdicts(experiment)


def _verdicts(experiment: Experiment) -> dict[str, tuple[str, float]]:
    ranked = [m for m, s in experiment.seeds.items() if s.n >= 2]
    verdicts = {m: (NO_VERDICT, math.nan) for m, s in experiment.seeds.items() if s.n < 2}
    if not ranked:
        return verdicts
    best = ranked[0]
    verdicts[best] = (BEST if len(ranked) > 1 else NO_VERDICT, math.nan)
    for model in ranked[1:]:
        row = next(r for r in experiment.comparisons if {r["a"], r["b"]} == {best, model})
        # shift is a - b on the metric's scale: the best is better in the direction declared
        shift = row["shift"] if row["a"] == best else -row["shift"]
        worse = shift > 0 if experiment.metric.higher_is_better else shift < 0
        p = row["p_holm"]
        verdicts[model] = (BELOW if p < stats.ALPHA and worse else TIED, p)
    return verdicts
