"""Cells that differ in what decides their result are reported apart, never averaged."""

from __future__ import annotations

import types

import torch

import bench
from bench import hookimpl
from bench.cli import main
from bench.figures import write_figures
from bench.results import load
from bench.tables import summary_table, throughput_table, verdict_table
from tests.helpers import TINY


def settings(*extra: str) -> dict[str, str]:
    return dict(item.split("=") for item in [*TINY, *extra])


def test_a_setting_that_differs_names_the_model(tmp_path):
    bench.run(["lstm", "gru"], "adding", seeds=[0, 1], overrides=settings(), out=tmp_path)
    frame = bench.run("lstm", "adding", seeds=[0, 1], overrides=settings("precision=bf16"), out=tmp_path)

    assert set(frame["model"]) == {"gru", "lstm precision=bf16", "lstm precision=fp32"}
    summary = summary_table(frame, load(tmp_path).metrics)
    assert set(summary.index) == {"gru", "lstm precision=bf16", "lstm precision=fp32"}
    assert all("(n=2)" in value for value in summary["adding T=6 (mse)"])  # two seeds each, not four
    assert set(throughput_table(frame).index.get_level_values("arch")) == set(summary.index)
    assert set(verdict_table(frame).index) == set(summary.index)


def test_a_task_option_that_differs_names_the_experiment(tmp_path):
    bench.run("gru", "adding", seeds=[0], overrides=settings(), out=tmp_path)
    frame = bench.run("gru", "adding", seeds=[0], overrides=settings("train_size=96"), out=tmp_path)

    assert set(frame["experiment"]) == {"adding train_size=64 T=6", "adding train_size=96 T=6"}
    assert set(frame["model"]) == {"gru"}  # the model is the same in both experiments
    figures = {p.name for p in write_figures(load(tmp_path))}
    assert {"curves_adding_train_size=64.png", "curves_adding_train_size=96.png"} <= figures


def test_the_figures_label_lines_as_the_tables_do(tmp_path):
    bench.run("lstm", "adding", seeds=[0], overrides=settings("probe_points=1"), out=tmp_path)
    bench.run("lstm", "adding", seeds=[0], overrides=settings("probe_points=1", "lr=0.01"), out=tmp_path)
    figures = write_figures(load(tmp_path))
    svg = next(p for p in figures if p.name == "curves_adding.svg").read_text()
    assert "lr=0.002" in svg and "lr=0.01" in svg


class FirstSign(bench.Task):
    """A plugin task with its own metric name and length option: the class is the sign of the
    first input, read after ``steps`` steps."""

    name = "first_sign"
    description = "Sign of the first input."
    defaults = {"steps": 6, "size": 64}
    length_option = "steps"
    solved_threshold = 0.9

    @property
    def metric(self) -> str:
        return "f1"  # neither "accuracy" nor "mse": the report must follow higher_is_better

    def prepare(self, options, seed):
        generator = torch.Generator().manual_seed(seed)

        def split():
            inputs = torch.randn(options["size"], options["steps"], 1, generator=generator)
            return bench.SequenceSet(
                inputs, torch.full((options["size"],), options["steps"]), (inputs[:, 0, 0] > 0).long()
            )

        return bench.TaskData(split(), split(), split(), num_outputs=2, num_features=1)


def test_the_report_follows_what_a_task_declares(tmp_path, register_plugin, capsys):
    plugin = types.SimpleNamespace(rnnbench_register_tasks=hookimpl(lambda: [FirstSign()]))
    register_plugin(plugin, "first-sign")
    run = ["threads=1", "max_steps=4", "eval_every=2", "hidden_size=4", "probe_points=1"]
    args = ["horizon", "--arch", "rnn", "gru", "--task", "first_sign", "--T", "3", "5", "--seeds", "0", "1"]
    assert main([*args, "--out", str(tmp_path), "--no-progress", "--set", *run]) == 0
    printed = capsys.readouterr().out
    assert "steps=3" in printed and "steps=5" in printed  # the horizon table, by the declared option
    results = load(tmp_path)
    frame = results.frame
    assert set(frame["experiment"]) == {"first_sign steps=3", "first_sign steps=5"}
    means = frame.groupby(["experiment", "model"])["test_f1"].mean()
    for experiment in results.verdicts:
        assert next(iter(experiment.seeds)) == means[experiment.name].idxmax()  # higher is better, whatever its name
    svg = {p.name: p.read_text() for p in (tmp_path / "figures").glob("*.svg")}
    assert "test f1" in svg["scores.svg"]  # a panel for the task's own metric
    assert "sequence length steps" in svg["horizon_first_sign.svg"]
