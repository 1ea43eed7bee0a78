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
        ({**BASE, "grid": {"num_layers": [1, 0]}}, "lstm: num_layers must be an integer >= 1, got 0"),
        ({**BASE, "seeds": [0, 0]}, "'seeds': seed(s) 0 given more than once"),
        ({**BASE, "seeds": [2**40]}, "'seeds': seed 1099511627776 must be an integer in [0, 4294967296)"),
        ({**BASE, "set": {"clip": float("nan")}}, "clip must be a finite number, got nan"),
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


def test_problems_in_set_are_listed_beside_unknown_names():
    spec = {**BASE, "architectures": ["lstn"], "tasks": ["addding"], "set": {"lr": float("inf"), "hiden_size": 3}}
    with pytest.raises(ConfigError) as error:
        expand_sweep(spec)
    for part in ("unknown architecture 'lstn'", "unknown task 'addding'", "hiden_size", "lr must be a finite"):
        assert part in str(error.value)


def test_a_folder_or_a_binary_file_is_not_a_sweep(tmp_path, capsys):
    binary = tmp_path / "some.bin"
    binary.write_bytes(bytes(range(256)))
    for path, message in ((tmp_path, "is a folder"), (binary, "is not a text file")):
        assert main(["sweep", str(path), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_a_huge_plan_is_flagged_and_its_listing_cut(tmp_path, capsys, monkeypatch):
    import bench.cli

    monkeypatch.setattr(bench.cli, "PLAN_ROWS", 5)
    monkeypatch.setattr(bench.cli, "LARGE_PLAN", 10)
    sweep = tmp_path / "big.toml"
    sweep.write_text('architectures = ["rnn", "gru"]\ntasks = ["adding"]\nseeds = 3\n[grid]\nlr = [1e-3, 2e-3]\n')
    assert main(["sweep", str(sweep), "--dry-run", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "this plan has 12 cells" in captured.err
    assert captured.out.count("| adding-") == 5 and "(the first 5 of 12 cells)" in captured.out


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
    for reproduction in sorted((examples / "reproductions").glob("*.toml")):
        assert load_sweep(reproduction).cells, reproduction  # every reproduction plans its cells
    assert imdb.name == "imdb" and len(imdb.cells) == 4
