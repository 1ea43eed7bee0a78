"""Figures written with every results folder (PNG and SVG), one set per task (and per
setting of a task option on which its cells differ, e.g. ``curves_imdb_keep=first``):

- ``gradients_<task>``: gradient norm against steps back from the last token, relative to
  its value at the last token, log scale, one line per model (and direction; input
  gradients for encoders without ``unrolled()``), at initialisation and after training;
- ``curves_<task>``: validation metric against training step, chance level drawn;
- ``horizon_<task>``: test metric against sequence length T (when several T were run),
  chance level and solved threshold drawn;
- ``scores``: the headline test metric of every architecture and task, mean with the
  standard deviation over seeds as error bars.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.files import write_outputs
from bench.leaderboard import higher_is_better
from bench.store import Store

STYLES = {"forward": "-", "backward": "--", "input": ":"}


def write_figures(directory: str | os.PathLike, frame: pd.DataFrame) -> list[Path]:
    """Draw every figure the results support; return the files written."""
    directory = Path(directory)
    if frame.empty:
        return []
    labels = frame.set_index("id")[["setup", "model"]].to_dict("index")  # as in the tables
    # the frame's cells only: a tuned model is drawn at its selected setting, as the tables report it
    records = [
        {**r, **labels[r["id"]]} for r in Store(directory).records() if r["id"] in labels and r["status"] != "error"
    ]
    written = _save(directory, "scores", scores_figure(frame))
    for setup in sorted({r["setup"] for r in records}):
        setup_records = [r for r in records if r["setup"] == setup]
        figures = {
            "gradients": gradient_figure(setup_records),
            "curves": learning_curves(setup_records),
            "gates": gates_figure(setup_records),
            "jacobian": jacobian_figure(setup_records),
            "trajectory": trajectory_figure(setup_records),
        }
        cells = frame[frame["setup"] == setup]
        if cells["length"].nunique() > 1:
            figures["horizon"] = horizon_figure(cells, setup_records[0])
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
    figure.savefig(path, format=suffix, dpi=120, bbox_inches="tight")


def scores_figure(frame: pd.DataFrame):
    """One panel per metric (accuracy in %, metrics where lower is better on a log axis); bars
    per experiment and architecture."""
    frame = frame[frame["status"] != "error"]
    metrics = list(dict.fromkeys(frame["metric"].dropna()))
    if not metrics:
        return None
    figure, axes = plt.subplots(1, len(metrics), figsize=(6.5 * len(metrics), 4.2), squeeze=False)
    colors = _colors(frame["model"])
    for axis, metric in zip(axes[0], metrics, strict=True):
        cells = frame[(frame["metric"] == metric) & np.isfinite(frame[f"test_{metric}"].astype(float))]
        if cells.empty:
            continue
        stats = cells.groupby(["experiment", "model"], sort=False)[f"test_{metric}"].agg(["mean", "std"])
        scale = 100.0 if metric == "accuracy" else 1.0
        experiments = list(dict.fromkeys(stats.index.get_level_values(0)))
        models = sorted(set(stats.index.get_level_values(1)))
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            rows = [stats.loc[(e, model)] if (e, model) in stats.index else None for e in experiments]
            means = [scale * r["mean"] if r is not None else np.nan for r in rows]
            errors = [scale * r["std"] if r is not None and r["std"] == r["std"] else 0.0 for r in rows]
            axis.bar(
                np.arange(len(experiments)) + i * width,
                means,
                width,
                yerr=errors,
                capsize=3,
                color=colors[model],
                label=model,
            )
        axis.set_xticks(np.arange(len(experiments)) + 0.4 - width / 2, experiments, rotation=20, ha="right")
        _metric_axis(axis, "test", metric, higher_is_better(cells))
        axis.grid(True, axis="y", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("Test metric, mean ± std over seeds")
    return figure


def _length(record: dict[str, Any]) -> tuple[str, Any] | None:
    """(the task's length option, its value in this record), or None when it has none."""
    option = record.get("length_option", "T" if "T" in record["config"]["task_options"] else None)
    return (option, record["config"]["task_options"].get(option)) if option else None


def _longest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gradient and learning curves are drawn for one sequence length: the longest run."""
    lengths = [_length(r) for r in records]
    if any(length is None or length[1] is None for length in lengths):
        return records
    longest = max(value for _, value in lengths)
    return [r for r, (_, value) in zip(records, lengths, strict=True) if value == longest]


def gradient_figure(records: list[dict[str, Any]]):
    records = [r for r in _longest(records) if r.get("gradients")]
    if not records:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = _colors(r["model"] for r in records)
    for axis, moment, title in ((axes[0], 0, "at initialisation"), (axes[1], -1, "after training")):
        curves = defaultdict(list)  # (model, profile) -> one curve per seed
        for record in records:
            profiles = record["gradients"][moment]["norms"]
            hidden = [p for p in ("forward", "backward") if p in profiles]
            for profile in hidden or ["input"]:
                curves[(record["model"], profile)].append(np.asarray(profiles[profile], dtype=float))
        bidirectional = {model for model, profile in curves if profile == "backward"}
        for (model, profile), runs in sorted(curves.items()):
            length = min(len(run) for run in runs)
            # relative to the last token: after training the loss (and every gradient) is small
            # when the task is solved; the shape of the decay is what compares architectures
            relative = [np.maximum(run[:length], 1e-300) / max(run[0], 1e-300) for run in runs]
            mean = np.exp(np.mean(np.log(relative), axis=0))  # geometric mean over seeds
            label = model if profile == "forward" and model not in bidirectional else f"{model} ({profile})"
            axis.plot(np.arange(length), mean, STYLES[profile], color=colors[model], label=label, linewidth=1.6)
        axis.set_title(f"{title} (step {records[0]['gradients'][moment]['step']})")
        axis.set_yscale("log")
        axis.set_xlabel("timesteps before the last token")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("‖∂L/∂h_t‖ / ‖∂L/∂h_last‖ (log)")
    axes[1].legend(fontsize=8, loc="best")
    figure.suptitle(_title(records[0], "gradient reaching each timestep"))
    return figure


def gates_figure(records: list[dict[str, Any]]):
    """Each gated model's gates, mean ± std over units and sequences at every step, after
    training (solid, with a band) and at initialisation (dashed); the mean over seeds."""
    records = [r for r in _longest(records) if len(r.get("gates") or []) >= 2]
    if not records:
        return None
    models = sorted({r["model"] for r in records})
    figure, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.0), squeeze=False, sharey=True)
    palette = plt.get_cmap("tab10").colors
    for axis, model in zip(axes[0], models, strict=True):
        runs = [r["gates"] for r in records if r["model"] == model]
        for i, name in enumerate(runs[0][-1]["gates"]):
            color = palette[i % len(palette)]
            for moment, style in ((0, "--"), (-1, "-")):
                means = np.mean([run[moment]["gates"][name]["mean"] for run in runs], axis=0)
                steps = np.arange(len(means))
                label = f"{name} ({'initial' if moment == 0 else 'trained'})"
                axis.plot(steps, means, style, color=color, label=label, linewidth=1.4)
                if moment == -1:
                    spread = np.mean([run[-1]["gates"][name]["std"] for run in runs], axis=0)
                    axis.fill_between(
                        steps, means - spread, means + spread, color=palette[i % len(palette)], alpha=0.15
                    )
        axis.set_title(model)
        axis.set_xlabel("step (processing order)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("gate activation, mean ± std")
    figure.suptitle(_title(records[0], "gates at every step"))
    return figure


def jacobian_figure(records: list[dict[str, Any]]):
    """The product of step Jacobians back from the last token (solid), which bounds the
    gradient's decay, beside the measured gradient ‖∂L/∂h‖ relative to the last token
    (dashed): at initialisation and after training; geometric mean over seeds."""
    records = [r for r in _longest(records) if len(r.get("jacobian") or []) >= 2 and r.get("gradients")]
    if not records:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = _colors(r["model"] for r in records)
    for axis, moment, title in ((axes[0], 0, "at initialisation"), (axes[1], -1, "after training")):
        for model in sorted({r["model"] for r in records}):
            runs = [r for r in records if r["model"] == model]
            products = [np.asarray(r["jacobian"][moment]["product"], dtype=float) for r in runs]
            measured = [np.asarray(r["gradients"][moment]["norms"].get("forward", []), dtype=float) for r in runs]
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
    figure.suptitle(_title(records[0], "Jacobian product vs the measured gradient"))
    return figure


def trajectory_figure(records: list[dict[str, Any]]):
    """Each model's state trajectories after training (first seed): a line per sequence on
    the first two principal components, its points coloured by step, a circle at step 0."""
    firsts: dict[str, dict[str, Any]] = {}
    for record in sorted(_longest(records), key=lambda r: r["seed"]):
        if record.get("trajectory"):
            firsts.setdefault(record["model"], record)
    if not firsts:
        return None
    figure, axes = plt.subplots(1, len(firsts), figsize=(4.6 * len(firsts), 4.2), squeeze=False)
    for axis, (model, record) in zip(axes[0], sorted(firsts.items()), strict=True):
        trajectory = record["trajectory"][-1]
        for points in trajectory["points"]:
            xy = np.asarray(points, dtype=float)
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


def learning_curves(records: list[dict[str, Any]]):
    records = [r for r in _longest(records) if r.get("history")]
    if not records:
        return None
    metric = records[0]["metric"]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = _colors(r["model"] for r in records)
    by_model = defaultdict(list)
    for record in records:
        by_model[record["model"]].append(record["history"])
    for model, histories in sorted(by_model.items()):
        steps = [h["step"] for h in histories[0]]
        values = np.array([[h[f"valid_{metric}"] for h in history][: len(steps)] for history in histories])
        axis.plot(steps, np.nanmean(values, axis=0), color=colors[model], label=model, linewidth=1.6)
    _reference_lines(axis, records[0])
    axis.set_xlabel("training step")
    _metric_axis(axis, "validation", metric, records[0].get("higher_is_better", metric == "accuracy"), scaled=False)
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    axis.set_title(_title(records[0], "learning curves"))
    return figure


def horizon_figure(frame: pd.DataFrame, example: dict[str, Any]):
    metric = example["metric"]
    column = f"test_{metric}"
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    colors = _colors(frame["model"])
    for model, cells in sorted(frame.groupby("model")):
        stats = cells.groupby("length")[column].agg(["mean", "std"])
        axis.errorbar(
            stats.index,
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            color=colors[model],
            label=model,
        )
    _reference_lines(axis, example)
    axis.set_xscale("log")
    axis.set_xlabel(f"sequence length {example.get('length_option', 'T')} (log)")
    _metric_axis(axis, "test", metric, higher_is_better(frame), scaled=False)
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    axis.set_title(f"{example['setup']}: memory horizon")
    return figure


def _metric_axis(axis, split: str, metric: str, higher_better: bool, scaled: bool = True) -> None:
    """Label the metric's axis; a metric where lower is better (an error) spans decades, so it
    gets a log axis. ``scaled``: accuracy is drawn in percent."""
    unit = " (%)" if scaled and metric == "accuracy" else ""
    axis.set_ylabel(f"{split} {metric}{unit}" + ("" if higher_better else " (log)"))
    if not higher_better:
        axis.set_yscale("log")


def _reference_lines(axis, record: dict[str, Any]) -> None:
    if record.get("chance") is not None:
        axis.axhline(record["chance"], color="grey", linestyle="--", linewidth=1, label="chance")
    if record.get("solved_threshold") is not None:
        axis.axhline(record["solved_threshold"], color="green", linestyle=":", linewidth=1, label="solved")


def _title(record: dict[str, Any], what: str) -> str:
    length = _length(record)
    at = f", {length[0]}={length[1]}" if length and length[1] is not None else ""
    return f"{record['setup']}{at}: {what}"


def _colors(models: Iterable[str]) -> dict[str, Any]:
    palette = plt.get_cmap("tab10").colors
    return {model: palette[i % len(palette)] for i, model in enumerate(sorted(set(models)))}
