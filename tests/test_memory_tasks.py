"""copy, selective_copy and mqar: answers at several positions, read from each encoder's
per-position outputs (sequence()); data deterministic per seed, chance levels as stated."""

from __future__ import annotations

import types

import pytest
import torch

import bench
from bench import Architecture, hookimpl
from bench.batching import Batch
from bench.cli import main
from bench.model import build_model
from bench.planner import expand
from bench.probes import gradient_profile
from bench.task import IGNORE
from tests.helpers import TINY_RUN

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry

SMALL = {"train_size": 400, "valid_size": 50, "test_size": 50}
TASKS = {"copy": {"T": 12}, "selective_copy": {"T": 20, "symbols": 4}, "mqar": {"T": 24, "pairs": 4}}


def prepare(name: str, seed: int = 0, **options):
    task = bench.get_task(name)
    return task, task.prepare(task.resolve_options({**SMALL, **TASKS[name], **options}), seed)


@pytest.mark.parametrize("name", TASKS)
def test_data_is_deterministic_per_seed(name):
    _, first = prepare(name)
    _, again = prepare(name)
    _, other = prepare(name, seed=1)
    assert torch.equal(first.train.inputs, again.train.inputs) and torch.equal(first.test.targets, again.test.targets)
    assert not torch.equal(first.train.inputs, other.train.inputs)
    assert first.train.targets.shape == first.train.inputs.shape  # a target (or IGNORE) per position


@pytest.mark.parametrize("name", TASKS)
def test_chance_is_one_answer_in_so_many_and_the_data_agrees(name):
    task, data = prepare(name, train_size=4000)
    answers = data.train.targets[data.train.targets != IGNORE]
    shares = torch.bincount(answers).float() / len(answers)
    shares = shares[shares > 0]
    assert task.chance(data) == pytest.approx(1 / len(shares))  # uniform over the possible answers
    assert float(shares.max()) == pytest.approx(task.chance(data), abs=0.02)


def test_copy_asks_for_the_first_symbols_after_the_cue():
    _, data = prepare("copy", symbols=3, alphabet=5, T=6)
    inputs, targets = data.train.inputs, data.train.targets
    assert inputs.shape[1] == 6 + 2 * 3
    assert (inputs[:, 3 + 6 - 1] == 6).all() and (inputs[:, 3 : 3 + 6 - 1] == 0).all()  # blanks, then the cue
    assert torch.equal(targets[:, -3:], inputs[:, :3]) and (targets[:, :-3] == IGNORE).all()


def test_selective_copy_asks_for_the_scattered_symbols_in_order():
    _, data = prepare("selective_copy")
    for row, target in zip(data.train.inputs[:20], data.train.targets[:20], strict=True):
        noise = row[:20]
        assert torch.equal(noise[noise > 0], target[20:])  # in the order they appeared
        assert (row[20:] == 9).all()  # cues


def test_mqar_answers_each_query_with_its_value():
    _, data = prepare("mqar")
    for row, target in zip(data.train.inputs[:20], data.train.targets[:20], strict=True):
        value_of = dict(zip(row[0:8:2].tolist(), row[1:8:2].tolist(), strict=True))
        queries = row[-4:].tolist()
        assert sorted(queries) == sorted(value_of) and target[-4:].tolist() == [value_of[q] for q in queries]


def test_every_architecture_runs_every_memory_task_end_to_end(tmp_path):
    settings = ["threads=1", "max_steps=4", "eval_every=2", "hidden_size=8", "probe_points=1", "T=24"]
    settings += [f"{k}={v}" for k, v in SMALL.items()]
    args = ["run", "--arch", *bench.list_architectures(), "--task", *TASKS, "--seeds", "0", "--out", str(tmp_path)]
    assert main([*args, "--no-progress", "--set", *settings]) == 0
    frame = bench.load_results(tmp_path)
    assert (frame["status"] == "ok").all() and len(frame) == 3 * len(bench.list_architectures())
    assert frame["test_accuracy"].between(0, 1).all()
    # every answer right is rarer than each answer right
    assert (frame["test_exact"] <= frame["test_accuracy"]).all() and frame["valid_exact"].between(0, 1).all()


def test_exact_counts_the_sequences_with_every_answer_right():
    task = bench.get_task("copy")
    target = torch.tensor([[IGNORE, 1, 2], [IGNORE, 1, 2]])
    output = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2], [0, 1, 1]]), 3).float()
    scores = task.scores(output, target)
    assert scores["accuracy"].tolist() == [1.0, 0.5] and scores["exact"].tolist() == [1.0, 0.0]
    assert [m.name for m in task.metric_declarations] == ["accuracy", "exact"]  # the headline first


class FinalOnly(torch.nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.rnn = torch.nn.GRU(input_size, hidden_size, batch_first=True)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.rnn(x)[0][torch.arange(len(x)), lengths - 1]


def test_an_encoder_without_sequence_gets_a_clear_error_before_training(tmp_path, capsys, register_plugin):
    plugin = types.SimpleNamespace(
        rnnbench_register_architectures=hookimpl(lambda: [Architecture("final_only", "No sequence().", FinalOnly)])
    )
    register_plugin(plugin, "final-only")
    args = ["run", "--arch", "final_only", "--task", "copy", "--seeds", "0", "--out", str(tmp_path / "o")]
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'final_only' has no sequence() method" in err and "encoder.sequence(x, lengths)" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["lstm", "bilstm"])
def test_the_probe_counts_back_from_the_first_answer(name):
    (cell,) = expand([name], ["copy"], [0], {**SMALL, "T": 6, "symbols": 3, "hidden_size": 8})
    task = bench.get_task("copy")
    data = task.prepare(dict(cell.task_options), 0)
    model = build_model(task, bench.get_architecture(name), data, cell)
    batch = Batch(data.valid.inputs[:8], data.valid.lengths[:8], data.valid.targets[:8])
    profiles = gradient_profile(model, task, batch)
    first = 3 + 6  # the first answer position: after 3 symbols and 6 gap steps
    assert len(profiles["forward"]) == first + 1 and len(profiles["input"]) == first + 1
    assert all(value > 0 for value in profiles["forward"])  # every earlier step reaches the first answer
    if name == "bilstm":
        # the backward direction produced that answer after reading the tokens from the end to it
        assert len(profiles["backward"]) == data.valid.inputs.shape[1] - first


def test_length_generalisation_tests_the_trained_weights_at_other_lengths(tmp_path, capsys):
    settings = ["threads=1", "max_steps=4", "eval_every=2", "hidden_size=8", "probe_points=1", "T=12"]
    settings += [f"{k}={v}" for k, v in SMALL.items()] + ["eval_lengths=18,24"]
    args = ["run", "--arch", "gru", "--task", "copy", "--seeds", "0", "1", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--set", *settings]) == 0
    printed = capsys.readouterr().out
    assert "Length generalisation" in printed and "trained (T=12)" in printed and "T=24" in printed
    frame = bench.load_results(tmp_path)
    assert frame[["test_accuracy@18", "test_accuracy@24"]].notna().all().all()
    table = (tmp_path / "generalisation.csv").read_text()
    assert "T=18" in table and "T=24" in table


@pytest.mark.parametrize(
    ("task", "setting", "message"),
    [
        ("copy", "eval_lengths=0,20", "every length must be a positive integer"),
        ("imdb", "eval_lengths=100", "task 'imdb' declares no length option to vary"),
        ("mqar", "eval_lengths=10", "mqar needs T >= 3 x pairs"),
    ],
)
def test_bad_evaluation_lengths_are_explained_before_training(tmp_path, capsys, task, setting, message):
    args = ["run", "--arch", "gru", "--task", task, "--seeds", "0", "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*args, "--set", setting]) == 2
    assert message in capsys.readouterr().err


def test_horizon_sweeps_the_copy_length(tmp_path, capsys):
    """`rnnbench horizon --task copy`: copy declares its length option and a solved
    threshold, so the horizon sweep varies T and reports which lengths each model solves."""
    out = tmp_path / "h"
    args = ["horizon", "--arch", "gru", "--task", "copy", "--T", "4", "8", "--seeds", "0", "--out", str(out)]
    assert main([*args, "--no-progress", "--set", *TINY_RUN]) == 0
    printed = capsys.readouterr().out
    assert "Memory horizon on copy" in printed and "T=4" in printed and "T=8" in printed
    assert sorted(p.name.split("-")[0] for p in (out / "cells").glob("*.json")) == ["copy", "copy"]
    assert (out / "figures" / "horizon_copy.png").exists()
