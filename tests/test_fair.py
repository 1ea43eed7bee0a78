"""Fair comparisons: equal budgets (--match), per-architecture tuning with selection on
validation only (--tune), and how sure each verdict is (CIs, Welch's test, ranks), checked
for every registered architecture and against scipy on records built here."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

import bench
from bench import Architecture, ConfigError, hookimpl
from bench.architecture import unroll
from bench.budget import Match, matched_hidden_size, measure
from bench.cli import main
from bench.leaderboard import comparisons_table, leaderboard_table
from bench.metrics import ACCURACY
from bench.planner import expand
from bench.record import Record
from bench.results import load, load_results
from bench.store import Store
from bench.sweep import expand_sweep
from tests.helpers import TINY

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry

INPUT = 16


def brute_force_parameters(arch: Architecture, hidden: int) -> int:
    torch.manual_seed(0)
    return sum(p.numel() for p in arch.build(INPUT, hidden).parameters() if p.requires_grad)


@pytest.mark.parametrize("target", [3_000, 20_000, 150_000])
@pytest.mark.parametrize("name", bench.list_architectures())
def test_parameter_matching_is_within_one_hidden_units_step(name, target):
    arch = bench.get_architecture(name)
    hidden = matched_hidden_size(arch, INPUT, arch.defaults, Match("params", target))
    counts = {h: brute_force_parameters(arch, h) for h in (hidden - 1, hidden, hidden + 1) if h >= 1}
    assert measure(arch, INPUT, hidden, arch.defaults)["encoder_params"] == counts[hidden]  # meta == built
    error = abs(counts[hidden] - target)
    assert all(error <= abs(count - target) for count in counts.values())  # no neighbour is closer
    assert error <= counts[hidden + 1] - counts[hidden]  # within the step one hidden unit makes


@pytest.mark.parametrize("target", [7, 64, 257])
@pytest.mark.parametrize("name", bench.list_architectures())
def test_state_matching_is_within_one_hidden_units_step(name, target):
    arch = bench.get_architecture(name)
    if measure(arch, INPUT, 8, arch.defaults)["state_size"] is None:
        pytest.skip(f"{name} declares no state_size")
    hidden = matched_hidden_size(arch, INPUT, arch.defaults, Match("state", target))
    states = {h: measure(arch, INPUT, h, arch.defaults)["state_size"] for h in (hidden - 1, hidden, hidden + 1) if h}
    error = abs(states[hidden] - target)
    assert all(error <= abs(state - target) for state in states.values())
    assert error <= states[hidden + 1] - states[hidden]


@pytest.mark.parametrize("name", bench.list_architectures())
def test_a_declared_state_holds_at_least_the_states_on_the_recurrent_path(name):
    torch.manual_seed(0)
    encoder = bench.get_architecture(name).build(INPUT, 8).eval()
    if getattr(encoder, "state_size", None) is None or not callable(getattr(encoder, "unrolled", None)):
        pytest.skip("needs state_size and unrolled()")
    states = unroll(encoder, torch.randn(2, 3, INPUT), torch.tensor([3, 2])).states
    assert encoder.state_size >= states[0].shape[-1]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("name", ["rnn", "gru", "lstm", "bilstm"])
def test_builtin_state_is_what_the_fused_kernels_carry(name, layers):
    encoder = bench.get_architecture(name).build(INPUT, 8, num_layers=layers)
    carried = 0
    for layer in encoder.layers:
        for module in layer:
            _, state = module(torch.randn(1, 3, module.input_size))  # (h_n, c_n) for an LSTM
            carried += sum(s.numel() for s in (state if isinstance(state, tuple) else (state,)))
    assert encoder.state_size == carried


class Stateless(torch.nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.linear = torch.nn.Linear(input_size, hidden_size)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.linear(x).cumsum(1)[torch.arange(len(x)), lengths - 1]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--match", "params"], "expected params=N or state=N"),
        (["--match", "flops=3"], "expected params=N or state=N"),
        (["--match", "params=2000", "--set", "hidden_size=8"], "chooses the hidden size"),
        (["--match", "params=2000", "--tune", "hidden_size=8,16"], "chooses the hidden size"),
        (["--tune", "T=5,6"], "T is a task option, which changes the experiment itself"),
        (["--tune", "lr=1e-3,1e-3"], "a value is given twice"),
        (["--tune", "lr=1e-3", "--set", "lr=2e-3"], "lr is both set and tuned"),
        (["--tune", "lr=1e-3", "lr=2e-3"], "--tune gives lr twice"),
        (["--arch", "stateless", "--match", "state=32"], "'stateless' declares no state size: set encoder.state_size"),
    ],
)
def test_bad_budgets_and_grids_are_explained_before_training(tmp_path, capsys, register_plugin, arguments, message):
    register_plugin(
        types.SimpleNamespace(
            rnnbench_register_architectures=hookimpl(lambda: [Architecture("stateless", "No state.", Stateless)])
        ),
        "stateless-plugin",
    )
    arch = [] if "--arch" in arguments else ["--arch", "gru"]
    args = ["run", *arch, "--task", "adding", "--seeds", "0", "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*args, *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def record(
    arch: str, seed: int, lr: float, valid: float, test: float, solved: bool | None = None, tuned: bool = True
) -> Record:
    """A stored record, built by hand, of a classification cell (tuned over lr, or not)."""
    return Record(
        id=f"probe-{arch}-s{seed}-lr{lr}".replace(".", "_"),
        status="ok",
        arch=arch,
        task="probe",
        seed=seed,
        config={"run": {"lr": lr} if tuned else {}, "arch_options": {}, "task_options": {}},
        metrics=(ACCURACY,),
        solved=solved,
        tuned=["lr"] if tuned else [],
        valid={"accuracy": valid},
        test={"accuracy": test},
        throughput={},
    )


def test_selection_uses_validation_only(tmp_path):
    store = Store(tmp_path)
    for seed in range(3):
        # lr=0.001 wins on validation and loses on test; lr=0.01 the other way round
        store.put(record("gru", seed, 0.001, valid=0.90 + seed / 100, test=0.60))
        store.put(record("gru", seed, 0.01, valid=0.70 + seed / 100, test=0.99))
    results = load(tmp_path)
    frame = results.frame
    assert set(frame.loc[frame["selected"], "setting"]) == {"lr=0.001"}
    board = leaderboard_table(results.verdicts, results.frame)
    row = board.loc[("probe", "gru")]
    assert row["selected"] == "lr=0.001" and row["seeds"] == 3
    assert row.filter(like="test accuracy").iloc[0].startswith("60.00")  # the selected setting's test score


def test_intervals_tests_and_verdicts_agree_with_scipy_and_statsmodels(tmp_path):
    scores = {"a": [0.90, 0.91, 0.92], "b": [0.80, 0.82, 0.79], "c": [0.81, 0.78, 0.83]}
    store = Store(tmp_path)
    for arch, values in scores.items():
        for seed, value in enumerate(values):
            store.put(record(arch, seed, 0.001, value, value, solved=value > 0.8, tuned=False))
    results = load(tmp_path)

    def logit(values):
        return np.log(np.array(values) / (1 - np.array(values)))

    comparisons = comparisons_table(results.verdicts).set_index(["a", "b"])
    pairs = (("a", "b"), ("a", "c"), ("b", "c"))
    raw = [scipy_stats.ttest_rel(logit(scores[a]), logit(scores[b])).pvalue for a, b in pairs]  # paired by seed
    for (a, b), p, adjusted in zip(pairs, raw, multipletests(raw, method="holm")[1], strict=True):
        row = comparisons.loc[(a, b)]
        assert row["p_raw"] == pytest.approx(p) and row["p_holm"] == pytest.approx(adjusted)
        assert row["diff"] == pytest.approx(sum(scores[a]) / 3 - sum(scores[b]) / 3)

    board = leaderboard_table(results.verdicts, results.frame).droplevel("experiment")
    assert board.loc["a", "verdict"] == "best" and board.index[0] == "a"
    # the interval of the mean on the logit scale, transformed back: inside [0, 1]
    best = logit(scores["a"])
    low, high = scipy_stats.t.interval(0.95, 2, loc=best.mean(), scale=scipy_stats.sem(best))
    centre = 1 / (1 + np.exp(-best.mean()))
    expected = f"{100 * centre:.2f} [{100 / (1 + np.exp(-low)):.2f}, {100 / (1 + np.exp(-high)):.2f}]"
    assert board.loc["a"].filter(like="test").iloc[0] == expected
    # Wilson's interval for 2 solved of 3, from its formula
    z, n, p = 1.959963984540054, 3, 2 / 3
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    half /= 1 + z * z / n
    assert board.loc["c", "solved (95% CI)"] == f"2/3 [{centre - half:.2f}, {centre + half:.2f}]"


SWEEP = """
name = "fair"
architectures = ["rnn", "lstm"]
tasks = ["adding"]
seeds = 2
match = "params=1500"
[set]
{settings}
[tune]
lr = [1e-3, 3e-3]
"""


def test_a_sweep_with_match_and_tune_runs_resumes_and_reports(tmp_path, capsys):
    settings = "\n".join(f"{key} = {value}" for key, value in (s.split("=") for s in TINY) if key != "hidden_size")
    sweep = tmp_path / "fair.toml"
    sweep.write_text(SWEEP.format(settings=settings))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Leaderboard" in printed and "Tuning" in printed and "Holm" in printed
    frame = load_results(out)
    assert len(frame) == 2 * 2 * 2  # architectures x seeds x learning rates
    assert {"encoder_params", "params", "state_size", "selected"} <= set(frame.columns)
    assert all(abs(p - 1500) <= 0.05 * 1500 for p in frame["encoder_params"])
    assert frame.groupby("arch")["run.hidden_size"].nunique().eq(1).all()  # one hidden size per architecture
    assert frame.groupby("arch")["selected"].sum().eq(2).all()  # one learning rate (2 seeds) each
    assert main(["sweep", str(sweep), "--out", str(out), "--no-progress"]) == 0
    assert "8 of 8 cells already" in capsys.readouterr().err  # resumed: nothing recomputed
    assert (out / "comparisons.csv").read_text().startswith("experiment,metric,a,b,paired,n_a,n_b")


def test_the_python_api_takes_match_and_tune(tmp_path):
    overrides = dict(item.split("=") for item in TINY if not item.startswith("hidden_size"))
    frame = bench.run(["gru"], "adding", [0], overrides, out=tmp_path, match="state=12", tune={"lr": [1e-3, 2e-3]})
    assert set(frame["state_size"]) == {12} and set(frame["run.hidden_size"]) == {12}
    assert frame["selected"].sum() == 1


def test_cells_record_how_they_were_planned_but_ids_ignore_it():
    plain = expand(["lstm"], ["adding"], [0], {"hidden_size": 31})
    matched = expand(["lstm"], ["adding"], [0], {}, match="state=62")
    assert matched[0].run.hidden_size == 31 and matched[0].id == plain[0].id  # the same cell, however reached
    with pytest.raises(ConfigError, match="no hidden size up to"):
        expand(["rnn"], ["adding"], [0], {}, match="params=100000000000")


def test_a_list_of_state_budgets_runs_each_and_tables_the_metric_against_the_state(tmp_path):
    settings = "\n".join(f"{key} = {value}" for key, value in (s.split("=") for s in TINY) if key != "hidden_size")
    sweep = tmp_path / "state.toml"
    budgets = 'match = ["state=8", "state=16"]'
    sweep.write_text(SWEEP.replace('match = "params=1500"', budgets).format(settings=settings))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--no-progress"]) == 0
    frame = load_results(out)
    assert len(frame) == 2 * 2 * 2 * 2  # architectures x seeds x learning rates x budgets
    assert set(frame["state_size"]) == {8, 16}
    state = (out / "state.csv").read_text().splitlines()
    assert state[0] == "task,arch,state=8,state=16" and len(state) == 3  # one row per architecture
    assert all("(n=2)" in line for line in state[1:])  # the selected learning rate's two seeds


def test_a_malformed_list_of_budgets_is_explained():
    with pytest.raises(ConfigError, match="'match' must be a string such as"):
        expand_sweep({"architectures": ["rnn"], "tasks": ["adding"], "seeds": 1, "match": ["state=8", 3]})
