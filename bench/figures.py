"""Figures written with every results folder (PNG and SVG), one set per task setup (a task,
with any option its cells differ in, e.g. ``curves_imdb_keep=first``):

- ``<probe>_<setup>``: each registered probe's figure (`bench.builtin_probes`: gradients,
  gates, Jacobians, state trajectories; and any plugin's);
- ``curves_<setup>``: validation metric against training step, chance level drawn;
- ``horizon_<setup>``: test metric against sequence length (when several lengths were run),
  chance level and solved threshold drawn;
- ``scores``: the headline test metric of every architecture and task: each seed as a dot,
  the centre and its 95% interval as a line, the chance level as a reference (no bars: a
  bar's length means nothing on a log axis);
- ``critical_difference``: the models' mean ranks across experiments (when there are enough).

Every axis follows the metrics' declarations (`bench.metrics.Metric`): scale, unit, log axis.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench import stats
from bench.files import remove_stale_temporaries, write_outputs
from bench.leaderboard import across_table
from bench.metrics import Metric
from bench.probe import Drawn, probes
from bench.record import Record
from bench.results import Results

STYLES = {"forward": "-", "backward": "--", "input": ":"}
STALE_AFTER_S = 60.0  # temporary figure files this much older than a report are left by a killed one


def write_figures(results: Results) -> list[Path]:
    """Draw every figure the results support; return the files written."""
    directory = results.directory
    remove_stale_temporaries(directory / "figures", time.time() - STALE_AFTER_S)
    frame = results.chosen()
    if frame.empty:
        return []
    drawn = results.drawn()  # a tuned model is drawn at its selected setting, as the tables report it
    written = _save(directory, "scores", scores_figure(frame, results.metrics))
    written += _save(directory, "critical_difference", critical_difference_figure(across_table(results.verdicts)))
    probe_list = [probe for _, probe, _ in probes() if probe.draw is not None]
    for setup in sorted({d.setup for d in drawn}):
        setup_drawn = [d for d in drawn if d.setup == setup]
        figures = {probe.name: probe.draw(setup_drawn) for probe in probe_list}
        figures["curves"] = learning_curves(setup_drawn)
        cells = frame[frame["setup"] == setup]
        if cells["length"].nunique() > 1:
            figures["horizon"] = horizon_figure(cells, setup_drawn[0])
        for name, figure in figures.items():
            written += _save(directory, f"{name}_{setup.replace(' ', '_')}", figure)
    return written


def _save(directory: Path, name: str, figure) -> list[Path]:
    if figure is None:
        return []
    try:
        return write_outputs(
            directory,
            "figure",
            {
                directory / "figures" / f"{name}.{suffix}": functools.partial(_savefig, figure, suffix)
                for suffix in ("png", "svg")
            },
        )
    finally:
        plt.close(figure)


def _savefig(figure, suffix: str, path: Path) -> None:
    # the same figure gives the same bytes: no date in an SVG, and its ids from a fixed salt
    with matplotlib.rc_context({"svg.hashsalt": "rnnbench"}):
        figure.savefig(path, format=suffix, dpi=120, bbox_inches="tight", metadata={"Date": None})


def scores_figure(frame: pd.DataFrame, metrics: dict[str, Metric]):
    """One panel per metric (as declared: scaled, on a log axis where it spans decades): for
    every experiment and model, each seed's test value as a dot, the centre and its 95%
    interval as a line (`bench.stats.summary`: inside the metric's range), and the chance
    level as a dashed reference."""
    frame = frame[frame["status"] != "error"]
    panels: dict[Metric, list[str]] = {}  # metric -> its tasks
    for task in dict.fromkeys(frame["task"]):
        if task in metrics:
            panels.setdefault(metrics[task], []).append(task)
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.2), squeeze=False)
    colors = _colors(frame["model"])
    for axis, (metric, task_names) in zip(axes[0], panels.items(), strict=True):
        column = f"test_{metric.name}"
        cells = frame[frame["task"].isin(task_names)]
        experiments = list(dict.fromkeys(cells["experiment"]))
        models = sorted(set(cells["model"]))
        width = 0.8 / len(models)
        for e, experiment in enumerate(experiments):
            group = cells[cells["experiment"] == experiment]
            chance = group["chance"].dropna()
            if len(chance):
                axis.hlines(metric.scale * chance.iloc[0], e - 0.45, e + 0.45, colors="grey", linestyles="--", lw=1)
            for i, model in enumerate(models):
                values = group.loc[group["model"] == model, column].astype(float).to_numpy()
                values = values[np.isfinite(values)]
                if not len(values):
                    continue
                x = e + (i - (len(models) - 1) / 2) * width
                axis.plot(np.full(len(values), x), metric.scale * values, "o", color=colors[model], ms=4, alpha=0.7)
                summary = stats.summary(values, metric)
                if summary["n"] > 1:
                    axis.vlines(x, metric.scale * summary["ci_low"], metric.scale * summary["ci_high"],
                                color=colors[model], lw=2)  # fmt: skip
                axis.plot(x, metric.scale * summary["centre"], "_", color=colors[model], ms=14, mew=2)
        for model in models:
            axis.plot([], [], "o", color=colors[model], label=model)
        axis.plot([], [], "--", color="grey", lw=1, label="chance")
        axis.set_xticks(np.arange(len(experiments)), experiments, rotation=20, ha="right")
        _metric_axis(axis, "test", metric)
        axis.grid(True, axis="y", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("Test metric: each seed (dots), centre and 95% interval (lines), chance (dashed)")
    return figure


def critical_difference_figure(across: pd.DataFrame):
    """Demšar's critical-difference diagram: each model at its mean rank over the
    experiments (1 = best), and a bar as long as the Nemenyi critical difference; models
    closer than it are not told apart. None without the across-experiments table."""
    if across.empty:
        return None
    difference = float(across["critical difference"].iloc[0])
    models = list(across.index)
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.35 * len(models)))
    for i, model in enumerate(models):
        rank = float(across.loc[model, "mean rank"])
        axis.plot([rank, rank], [0, -(i + 1)], color="grey", linewidth=0.8)
        axis.plot(rank, 0, "o", color="black")
        axis.text(rank + 0.03, -(i + 1), f"{model} ({rank:.2f})", va="center", fontsize=9)
    best = float(across["mean rank"].min())
    axis.plot([best, best + difference], [0.5, 0.5], color="firebrick", linewidth=3)
    axis.text(best, 0.75, f"critical difference {difference:.2f}", color="firebrick", fontsize=8)
    axis.set_xlim(0.5, len(models) + 0.5)
    axis.set_ylim(-(len(models) + 0.5), 1.2)
    axis.set_yticks([])
    axis.set_xlabel("mean rank over experiments (1 = best)")
    experiments = int(across["experiments"].iloc[0])
    p = float(across["Friedman p"].iloc[0])
    axis.set_title(f"Across {experiments} experiments: Friedman p = {p:.3g} (Nemenyi, α = 0.05)", fontsize=10)
    return figure


def _longest(drawn: list[Drawn]) -> list[Drawn]:
    """Gradient and learning curves are drawn for one sequence length: the longest run."""
    lengths = [d.record.length for d in drawn]
    if any(d.record.length_option is None or length is None for d, length in zip(drawn, lengths, strict=True)):
        return drawn
    longest = max(lengths)
    return [d for d, length in zip(drawn, lengths, strict=True) if length == longest]


def gradient_figure(drawn: list[Drawn]):
    """The gradient reaching each step, relative to the last token, at initialisation and
    after training; the geometric mean over seeds."""
    drawn = [d for d in _longest(drawn) if d.record.probe("gradients")]
    if not drawn:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = _colors(d.model for d in drawn)
    for axis, moment, title in ((axes[0], 0, "at initialisation"), (axes[1], -1, "after training")):
        curves = defaultdict(list)  # (model, profile) -> one curve per seed
        for d in drawn:
            profiles = d.record.probe("gradients")[moment]["norms"]
            hidden = [p for p in ("forward", "backward") if p in profiles]
            for profile in hidden or ["input"]:
                curves[(d.model, profile)].append(np.asarray(profiles[profile], dtype=float))
        bidirectional = {model for model, profile in curves if profile == "backward"}
        for (model, profile), runs in sorted(curves.items()):
            length = min(len(run) for run in runs)
            # relative to the last token: after training the loss (and every gradient) is small
            # when the task is solved; the shape of the decay is what compares architectures
            relative = [np.maximum(run[:length], 1e-300) / max(run[0], 1e-300) for run in runs]
            mean = np.exp(np.mean(np.log(relative), axis=0))  # geometric mean over seeds
            label = model if profile == "forward" and model not in bidirectional else f"{model} ({profile})"
            axis.plot(np.arange(length), mean, STYLES[profile], color=colors[model], label=label, linewidth=1.6)
        axis.set_title(f"{title} (step {drawn[0].record.probe('gradients')[moment]['step']})")
        axis.set_yscale("log")
        axis.set_xlabel("timesteps before the last token")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_last‖ (log)")
    axes[1].legend(fontsize=8, loc="best")
    figure.suptitle(_title(drawn[0], "gradient reaching each timestep"))
    return figure


def gates_figure(drawn: list[Drawn]):
    """Each gated model's gates, mean ± std over units and sequences at every step, after
    training (solid, with a band) and at initialisation (dashed); the mean over seeds."""
    drawn = [d for d in _longest(drawn) if len(d.record.probe("gates")) >= 2]
    if not drawn:
        return None
    models = sorted({d.model for d in drawn})
    figure, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.0), squeeze=False, sharey=True)
    palette = plt.get_cmap("tab10").colors
    for axis, model in zip(axes[0], models, strict=True):
        runs = [d.record.probe("gates") for d in drawn if d.model == model]
        for i, name in enumerate(runs[0][-1]["gates"]):
            color = palette[i % len(palette)]
            for moment, style in ((0, "--"), (-1, "-")):
                means = np.mean([run[moment]["gates"][name]["mean"] for run in runs], axis=0)
                steps = np.arange(len(means))
                label = f"{name} ({'initial' if moment == 0 else 'trained'})"
                axis.plot(steps, means, style, color=color, label=label, linewidth=1.4)
                if moment == -1:
                    spread = np.mean([run[-1]["gates"][name]["std"] for run in runs], axis=0)
                    axis.fill_between(steps, means - spread, means + spread, color=color, alpha=0.15)
        axis.set_title(model)
        axis.set_xlabel("step (processing order)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("gate activation, mean ± std")
    figure.suptitle(_title(drawn[0], "gates at every step"))
    return figure


def jacobian_figure(drawn: list[Drawn]):
    """The product of step Jacobians back from the last token (solid), which bounds the
    gradient's decay, beside the measured gradient ‖∂L/∂h‖ relative to the last token
    (dashed): at initialisation and after training; geometric mean over seeds."""
    drawn = [d for d in _longest(drawn) if len(d.record.probe("jacobian")) >= 2 and d.record.probe("gradients")]
    if not drawn:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = _colors(d.model for d in drawn)
    for axis, moment, title in ((axes[0], 0, "at initialisation"), (axes[1], -1, "after training")):
        for model in sorted({d.model for d in drawn}):
            runs = [d.record for d in drawn if d.model == model]
            products = [np.asarray(r.probe("jacobian")[moment]["product"], dtype=float) for r in runs]
            measured = [np.asarray(r.probe("gradients")[moment]["norms"].get("forward", []), dtype=float) for r in runs]
            for curves, style, what in ((products, "-", "Jacobian product"), (measured, "--", "measured gradient")):
                length = min(len(c) for c in curves)
                if length == 0:
                    continue
                relative = [np.maximum(c[:length], 1e-300) / max(c[0], 1e-300) for c in curves]
                mean = np.exp(np.mean(np.log(relative), axis=0))
                axis.plot(np.arange(length), mean, style, color=colors[model], label=f"{model}: {what}", linewidth=1.5)
        axis.set_title(title)
        axis.set_yscale("log")
        axis.set_xlabel("timesteps before the last token")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("‖∂h_last/∂h_t‖ and ‖∂L/∂h_t‖ / ‖∂L/∂h_last‖ (log)")
    axes[1].legend(fontsize=7)
    figure.suptitle(_title(drawn[0], "Jacobian product vs the measured gradient"))
    return figure


def trajectory_figure(drawn: list[Drawn]):
    """Each model's state trajectories after training (first seed): a line per sequence on
    the first two principal components, its points coloured by step, a circle at step 0."""
    firsts: dict[str, Drawn] = {}
    for d in sorted(_longest(drawn), key=lambda d: d.record.seed):
        if d.record.probe("trajectory"):
            firsts.setdefault(d.model, d)
    if not firsts:
        return None
    figure, axes = plt.subplots(1, len(firsts), figsize=(4.6 * len(firsts), 4.2), squeeze=False)
    for axis, (model, d) in zip(axes[0], sorted(firsts.items()), strict=True):
        trajectory = d.record.probe("trajectory")[-1]
        for points in trajectory["points"]:
            xy = _two_columns(np.asarray(points, dtype=float))
            axis.plot(xy[:, 0], xy[:, 1], color="grey", linewidth=0.6, alpha=0.6)
            scatter = axis.scatter(xy[:, 0], xy[:, 1], c=np.arange(len(xy)), cmap="viridis", s=9)
            axis.scatter(xy[:1, 0], xy[:1, 1], facecolors="none", edgecolors="black", s=40)
        share = sum(trajectory["explained"])
        axis.set_title(f"{model} (2 components: {share:.0%} of variance)", fontsize=9)
        axis.set_xlabel("PC 1")
        axis.set_ylabel("PC 2")
    figure.colorbar(scatter, ax=axes[0].tolist(), label="step")
    figure.suptitle(_title(next(iter(firsts.values())), "hidden-state trajectories after training"))
    return figure


def eigenvalue_figure(drawn: list[Drawn]):
    """The distribution of the eigenvalues' moduli |lambda| of each model with them (LRU,
    S4D), at initialisation (dashed) and after training (solid), first seed: |lambda| near 1
    is memory that lasts."""
    firsts: dict[str, Drawn] = {}
    for d in sorted(drawn, key=lambda d: d.record.seed):
        if len(d.record.probe("eigenvalues")) >= 2:
            firsts.setdefault(d.model, d)
    if not firsts:
        return None
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = _colors(firsts)
    for model, d in sorted(firsts.items()):
        entries = d.record.probe("eigenvalues")
        for entry, style, moment in ((entries[0], "--", "initial"), (entries[-1], "-", "trained")):
            levels = np.linspace(0, 1, len(entry["modulus"]))
            axis.plot(entry["modulus"], levels, style, color=colors[model], label=f"{model} ({moment})")
    axis.set_xlabel("|λ|")
    axis.set_ylabel("share of eigenvalues at or below")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(_title(next(iter(firsts.values())), "eigenvalue moduli (first seed)"))
    return figure


def _two_columns(xy: np.ndarray) -> np.ndarray:
    """Points with a second coordinate (zero where the state had one dimension only)."""
    xy = xy.reshape(len(xy), -1)
    return np.pad(xy, ((0, 0), (0, max(0, 2 - xy.shape[1]))))


def learning_curves(drawn: list[Drawn]):
    drawn = [d for d in _longest(drawn) if d.record.history]
    if not drawn:
        return None
    metric = drawn[0].record.metric
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = _colors(d.model for d in drawn)
    by_model = defaultdict(list)
    for d in drawn:
        by_model[d.model].append(d.record.history)
    for model, histories in sorted(by_model.items()):
        steps = [h["step"] for h in histories[0]]
        values = np.array([[h[f"valid_{metric.name}"] for h in history][: len(steps)] for history in histories])
        axis.plot(steps, np.nanmean(values, axis=0), color=colors[model], label=model, linewidth=1.6)
    _reference_lines(axis, drawn[0].record)
    axis.set_xlabel("training step")
    _metric_axis(axis, "validation", metric, scaled=False)
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    axis.set_title(_title(drawn[0], "learning curves"))
    return figure


def horizon_figure(frame: pd.DataFrame, example: Drawn):
    """Test metric against sequence length: each seed as a dot, the centre and its 95%
    interval as a line, per model; the chance level and the solved threshold drawn."""
    metric = example.record.metric
    column = f"test_{metric.name}"
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = _colors(frame["model"])
    models = sorted(set(frame["model"]))
    for i, model in enumerate(models):
        cells = frame[frame["model"] == model]
        lengths, centres = [], []
        for length, group in cells.groupby("length"):
            values = group[column].astype(float).to_numpy()
            values = values[np.isfinite(values)]
            if not len(values):
                continue
            x = float(length) * (1 + 0.03 * (i - (len(models) - 1) / 2))  # side by side on the log axis
            summary = stats.summary(values, metric)
            axis.plot(np.full(len(values), x), values, "o", color=colors[model], ms=3, alpha=0.6)
            if summary["n"] > 1:
                axis.vlines(x, summary["ci_low"], summary["ci_high"], color=colors[model], lw=1.5)
            lengths.append(x)
            centres.append(summary["centre"])
        axis.plot(lengths, centres, "-", color=colors[model], label=model, linewidth=1.2)
    _reference_lines(axis, example.record)
    axis.set_xscale("log")
    axis.set_xlabel(f"sequence length {example.record.length_option or 'T'} (log)")
    _metric_axis(axis, "test", metric, scaled=False)
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    axis.set_title(f"{example.setup}: memory horizon (seeds, centre and 95% interval)")
    return figure


def _metric_axis(axis, split: str, metric: Metric, scaled: bool = True) -> None:
    """Label the metric's axis as declared: its unit when drawn scaled, a log axis for a
    metric that spans decades."""
    unit = f" ({metric.unit})" if scaled and metric.unit else ""
    axis.set_ylabel(f"{split} {metric.name}{unit}" + (" (log)" if metric.log_axis else ""))
    if metric.log_axis:
        axis.set_yscale("log")


def _reference_lines(axis, record: Record) -> None:
    if record.chance is not None:
        axis.axhline(record.chance, color="grey", linestyle="--", linewidth=1, label="chance")
    if record.solved_threshold is not None:
        axis.axhline(record.solved_threshold, color="green", linestyle=":", linewidth=1, label="solved")


def _title(drawn: Drawn, what: str) -> str:
    record = drawn.record
    at = f", {record.length_option}={record.length}" if record.length_option and record.length is not None else ""
    return f"{drawn.setup}{at}: {what}"


def _colors(models: Iterable[str]) -> dict[str, Any]:
    palette = plt.get_cmap("tab10").colors
    return {model: palette[i % len(palette)] for i, model in enumerate(sorted(set(models)))}
