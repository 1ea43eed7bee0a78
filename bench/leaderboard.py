"""The fair-comparison tables: a leaderboard with each model's budget, selected setting,
95% confidence interval and rank; every pairwise comparison with its p-value; and the
tuning table that shows how sensitive each model is to its tuned settings.

All of them read the labelled frame of `bench.results` and the metrics' declarations; the
leaderboard and the comparisons see only the selected cells (`bench.results.chosen`), the
tuning table sees all.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from bench import stats
from bench.metrics import Metric
from bench.tables import Metrics, experiments, first_present


def _samples(cells: pd.DataFrame, metric: Metric) -> dict[str, list[float]]:
    """Each model's test metric over its seeds (finite values: a diverged seed's status says so)."""
    return {
        model: [v for v in group[f"test_{metric.name}"].astype(float) if np.isfinite(v)]
        for model, group in cells.groupby("model", sort=True)
    }


def leaderboard_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Per experiment and model: rank, budget (hidden size, encoder and model parameters,
    state size), the selected setting, the test metric's mean ± 95% CI, and for probes the
    solved fraction with its Wilson 95% CI. Best first."""
    rows = []
    for experiment, metric, cells in experiments(frame, metrics):
        better = metric.higher_is_better
        samples = _samples(cells, metric)
        ranks = stats.ranks(samples, better)
        for model, group in cells.groupby("model", sort=True):
            summary = stats.mean_ci(samples[model])
            half = (summary["ci_high"] - summary["ci_low"]) / 2
            shown = metric.show(summary["mean"], detail=True) if summary["n"] else "–"
            if summary["n"] > 1:
                shown += f" ± {metric.show(half, detail=True)}"
            row = {
                "experiment": experiment,
                "arch": model,
                "rank": ranks[model],
                "hidden": first_present(group["run.hidden_size"]),
                "encoder params": first_present(group["encoder_params"]),
                "params": first_present(group["params"]),
                "state": first_present(group["state_size"]),
                "selected": first_present(group["setting"]) or "–",
                f"test {metric.titled} (mean ± 95% CI)": shown,
                "n": summary["n"],
                "_best_first": -summary["mean"] if better else summary["mean"],
            }
            judged = group["solved"].dropna()
            if len(judged):
                solved = int(judged.astype(bool).sum())
                low, high = stats.wilson(solved, len(judged))
                row["solved (95% CI)"] = f"{solved}/{len(judged)} [{low:.2f}, {high:.2f}]"
            rows.append(row)
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    # experiments in the frame's order; within one, by rank, then best mean first
    order = {experiment: i for i, experiment in enumerate(dict.fromkeys(frame["experiment"]))}
    table = table.assign(_experiment=table["experiment"].map(order))
    table = table.sort_values(["_experiment", "rank", "_best_first"], kind="stable")
    for column in ("hidden", "encoder params", "params", "state"):
        table[column] = pd.array(table[column], dtype="Int64")
    if "solved (95% CI)" in table:
        table["solved (95% CI)"] = table["solved (95% CI)"].fillna("")
    return table.drop(columns=["_experiment", "_best_first"]).set_index(["experiment", "arch"])


def comparisons_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Every pair of models in each experiment: ``diff`` = mean(a) - mean(b) of the test
    metric (in its own units), its 95% CI, and Welch's t-test p-value."""
    rows = []
    for experiment, metric, cells in experiments(frame, metrics):
        samples = _samples(cells, metric)
        for a, b in itertools.combinations(sorted(samples), 2):
            rows.append(
                {
                    "experiment": experiment,
                    "metric": metric.name,
                    "a": a,
                    "b": b,
                    **stats.compare(samples[a], samples[b]),
                    "n_a": len(samples[a]),
                    "n_b": len(samples[b]),
                }
            )
    columns = ["experiment", "metric", "a", "b", "diff", "ci_low", "ci_high", "p_value", "n_a", "n_b"]
    return pd.DataFrame(rows, columns=columns)


def tuning_table(frame: pd.DataFrame, metrics: Metrics) -> pd.DataFrame:
    """Per experiment and model, every tuned setting's mean validation metric ± std over
    seeds, and which one was selected (by that mean alone)."""
    rows = []
    for experiment, metric, cells in experiments(frame[frame["setting"] != ""], metrics):
        for model, by_model in cells.groupby("model", sort=False):
            for setting, group in by_model.groupby("setting", sort=False):
                rows.append(_tuning_row(experiment, model, setting, group, metric))
    return pd.DataFrame(rows).set_index(["experiment", "arch", "setting"]) if rows else pd.DataFrame()


def _tuning_row(experiment: str, model: str, setting: str, group: pd.DataFrame, metric: Metric) -> dict[str, str]:
    summary = stats.mean_ci(group[f"valid_{metric.name}"].astype(float))
    spread = f" ± {metric.show(summary['std'], detail=True)}" if summary["n"] > 1 else ""
    value = (
        f"{metric.show(summary['mean'], detail=True)}{spread} (n={summary['n']})" if summary["n"] else "– (diverged)"
    )
    return {
        "experiment": experiment,
        "arch": model,
        "setting": setting,
        f"valid {metric.titled}": value,
        "selected": "yes" if group["selected"].all() else "",
    }
