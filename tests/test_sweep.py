"""Sweep files: expansion, stable ids, and validation of everything before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import ConfigError
from bench.cli import main
from bench.sweep import expand_sweep, load_sweep

BASE = {"architectures": ["rnn", "lstm"], "tasks": ["adding"], "seeds": 2}


def test_grids_and_sets_expand_per_architecture_and_task():
    spec = {
        **BASE,
        "set": {"max_steps": 10},
        "grid": {"hidden_size": [8, 16]},
        "task": {"adding": {"grid": {"T": [5, 9]}}},
        "arch": {"lstm": {"set": {"forget_bias": 0.0}}},
    }
    cells = expand_sweep(spec)
    assert len(cells) == 2 * 2 * 2 * 2  # archs x seeds x hidden sizes x T
    assert {c.run.max_steps for c in cells} == {10}
    assert {(c.run.hidden_size, c.task_options["T"]) for c in cells} == {(8, 5), (8, 9), (16, 5), (16, 9)}
    assert {c.arch_options.get("forget_bias") for c in cells if c.arch == "lstm"} == {0.0}


def test_ids_are_stable_and_duplicates_run_once():
    spec = {**BASE, "grid": {"T": [5, 5]}}
    first, second = expand_sweep(spec), expand_sweep(dict(spec))
    assert [c.id for c in first] == [c.id for c in second]
    assert len(first) == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**BASE, "colour": 1}, "unknown key 'colour'"),
        ({**BASE, "architectures": []}, "'architectures' must be a non-empty list"),
        ({**BASE, "tasks": "adding", "architectures": [3]}, "'architectures' must be a non-empty list"),
        ({**BASE, "seeds": 0}, "'seeds' must be a count >= 1"),
        ({**BASE, "seeds": [0, "1"]}, "'seeds' must be a count >= 1 or a list of integers"),
        ({**BASE, "architectures": ["lstn"]}, "unknown architecture 'lstn'. Did you mean 'lstm'"),
        ({**BASE, "tasks": ["adding", "imbd"]}, "unknown task 'imbd'"),
        ({**BASE, "set": {"hiden_size": 3}}, "unknown setting 'hiden_size'. Did you mean 'hidden_size'"),
        ({**BASE, "set": {"hidden_size": 64.5}}, "hidden_size=64.5: expected int"),
        ({**BASE, "set": {"lr": "fast"}}, "lr='fast': expected a number"),
        ({**BASE, "set": {"batch_size": -1}}, "batch_size must be >= 1"),
        ({**BASE, "grid": {"T": 5}}, "T must be a non-empty list"),
        ({**BASE, "set": 3}, "[set] must be a table"),
        ({**BASE, "arch": {"gru": {"set": {"dropout": 0.1}}}}, "'gru' is not in the sweep's architectures"),
    ],
)
def test_every_malformed_input_gets_a_clear_error(spec, message):
    with pytest.raises(ConfigError) as error:
        expand_sweep(spec, "s.toml")
    assert message in str(error.value) and "nothing was run" in str(error.value)


def test_all_problems_are_listed_at_once():
    spec = {**BASE, "seeds": -1, "set": {"hiden_size": 3, "lr": "fast"}, "grid": {"T": 7}}
    with pytest.raises(ConfigError) as error:
        expand_sweep(spec)
    message = str(error.value)
    assert "4 problem(s)" in message
    for part in ("'seeds'", "hiden_size", "lr='fast'", "T must be a non-empty list"):
        assert part in message


def test_files_that_are_not_toml_or_missing_are_explained(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text("architectures = [rnn")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_sweep(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_sweep(tmp_path / "missing.toml")


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('architectures = ["rnn"]\ntasks = ["adding"]\nseeds = 2\n[task.adding.grid]\nT = [5, 9]\n')
    assert main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o")]) == 0
    plan = capsys.readouterr().out
    assert "4 cells" in plan and "T=5" in plan and "T=9" in plan
    assert not (tmp_path / "o").exists()


def test_dry_run_catches_task_option_ranges_before_any_data_exists(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(
        'architectures = ["rnn"]\ntasks = ["adding", "temporal_order"]\nseeds = 1\n'
        "[set]\ntrain_size = 0\n[task.adding.grid]\nT = [1, 20]\n"
    )
    assert main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    # every problem of every task at once: the T=1 grid point, and both tasks' empty splits
    assert "adding needs T >= 2" in err and "adding needs train_size >= 1" in err
    assert "temporal_order needs train_size >= 1" in err
    assert not (tmp_path / "o").exists()


def test_the_example_sweep_files_are_valid():
    examples = Path(__file__).resolve().parents[1] / "examples"
    probes, imdb = load_sweep(examples / "probes.toml"), load_sweep(examples / "imdb.toml")
    assert probes.name == "probes" and len(probes.cells) == 60
    assert imdb.name == "imdb" and len(imdb.cells) == 4
