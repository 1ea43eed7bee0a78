"""Cells that differ in what decides their result are reported apart, never averaged."""

from __future__ import annotations

import bench
from bench.figures import write_figures
from bench.report import summary_table, throughput_table, verdict_table
from tests.helpers import TINY


def settings(*extra: str) -> dict[str, str]:
    return dict(item.split("=") for item in [*TINY, *extra])


def test_a_setting_that_differs_names_the_model(tmp_path):
    bench.run(["lstm", "gru"], "adding", seeds=[0, 1], overrides=settings(), out=tmp_path)
    frame = bench.run("lstm", "adding", seeds=[0, 1], overrides=settings("precision=bf16"), out=tmp_path)

    assert set(frame["model"]) == {"gru", "lstm precision=bf16", "lstm precision=fp32"}
    summary = summary_table(frame)
    assert set(summary.index) == {"gru", "lstm precision=bf16", "lstm precision=fp32"}
    assert all("(n=2)" in value for value in summary["adding T=6 (mse)"])  # two seeds each, not four
    assert set(throughput_table(frame).index.get_level_values("arch")) == set(summary.index)
    assert set(verdict_table(frame).index) == set(summary.index)


def test_a_task_option_that_differs_names_the_experiment(tmp_path):
    bench.run("gru", "adding", seeds=[0], overrides=settings(), out=tmp_path)
    frame = bench.run("gru", "adding", seeds=[0], overrides=settings("train_size=96"), out=tmp_path)

    assert set(frame["experiment"]) == {"adding train_size=64 T=6", "adding train_size=96 T=6"}
    assert set(frame["model"]) == {"gru"}  # the model is the same in both experiments
    figures = {p.name for p in write_figures(tmp_path, frame)}
    assert {"curves_adding_train_size=64.png", "curves_adding_train_size=96.png"} <= figures


def test_the_figures_label_lines_as_the_tables_do(tmp_path):
    bench.run("lstm", "adding", seeds=[0], overrides=settings("probe_points=1"), out=tmp_path)
    bench.run("lstm", "adding", seeds=[0], overrides=settings("probe_points=1", "lr=0.01"), out=tmp_path)
    figures = write_figures(tmp_path, bench.load_results(tmp_path))
    svg = next(p for p in figures if p.name == "curves_adding.svg").read_text()
    assert "lr=0.002" in svg and "lr=0.01" in svg
