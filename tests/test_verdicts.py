"""Verdicts against known truth: record sets built here, whose answer is known, go through
the same statistics the reports use (bench.verdicts, bench.stats)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from bench import stats
from bench.cli import main
from bench.metrics import ACCURACY, MSE, Metric
from bench.planner import expand
from bench.verdicts import BELOW, BEST, NO_VERDICT, TIED, analyse

TASK = "probe"


def frame_of(
    values: dict[str, list[float]], threshold: float | None = None, status: dict | None = None
) -> pd.DataFrame:
    """The reported cells of one experiment: a model's seeds are 0, 1, ...; a value below
    ``threshold`` solves the task (lower is better, as an MSE)."""
    rows = []
    for model, seeds in values.items():
        for seed, value in enumerate(seeds):
            rows.append(
                {
                    "experiment": TASK,
                    "task": TASK,
                    "model": model,
                    "arch": model,
                    "seed": seed,
                    "status": (status or {}).get((model, seed), "ok"),
                    "test_mse": value,
                    "solved": None if threshold is None else bool(value < threshold),
                    "best_step": 100,
                    "steps": 100,
                    "seeded_data": True,
                }
            )
    return pd.DataFrame(rows)


def verdicts(values: dict[str, list[float]], **options) -> dict[str, tuple[str, float]]:
    (experiment,) = analyse(frame_of(values, **options), {TASK: MSE})
    return experiment.verdicts


@pytest.mark.slow  # 200 simulated comparisons: `make test-slow`
def test_two_models_from_one_distribution_are_not_told_apart_more_often_than_nominal():
    generator = np.random.default_rng(0)
    draws, separated = 200, 0
    for _ in range(draws):
        both = np.exp(generator.normal(-9, 1, size=(2, 20)))  # one log-normal MSE distribution, 20 seeds each
        result = verdicts({"a": both[0].tolist(), "b": both[1].tolist()})
        separated += BELOW in {verdict for verdict, _ in result.values()}
    # at most the nominal 5%, with room for the binomial spread of 200 draws (3 standard errors)
    assert separated / draws <= stats.ALPHA + 3 * math.sqrt(stats.ALPHA * (1 - stats.ALPHA) / draws)


def test_a_clearly_better_model_is_separated():
    result = verdicts({"good": [1e-5, 2e-5, 1.5e-5, 3e-5, 1e-5], "bad": [0.16, 0.17, 0.165, 0.15, 0.18]})
    assert result["good"][0] == BEST and result["bad"][0] == BELOW and result["bad"][1] < 0.05


def test_a_model_with_one_seed_gets_no_verdict_and_no_interval():
    (experiment,) = analyse(frame_of({"one": [1e-5], "three": [0.1, 0.2, 0.15], "other": [0.1, 0.1, 0.3]}), {TASK: MSE})
    assert experiment.verdicts["one"] == (NO_VERDICT, experiment.verdicts["one"][1])
    assert list(experiment.seeds)[-1] == "one"  # listed last, never first
    assert math.isnan(experiment.seeds["one"].summary["ci_low"])


@settings(max_examples=40, deadline=None)
@given(
    solved_values=st.lists(st.floats(1e-9, 0.0099, allow_subnormal=False), min_size=3, max_size=3),
    lucky=st.floats(1e-12, 0.0099, allow_subnormal=False),
    unsolved=st.lists(st.floats(0.01, 0.3, allow_subnormal=False), min_size=2, max_size=2),
)
def test_a_bimodal_model_solved_once_never_outranks_one_solved_three_times(solved_values, lucky, unsolved):
    result = verdicts({"steady": solved_values, "bimodal": [lucky, *unsolved]}, threshold=0.01)
    assert result["steady"][0] == BEST and result["bimodal"][0] in (TIED, BELOW)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=2, max_size=6),
    errors=st.lists(st.floats(0.0, 50.0, allow_subnormal=False), min_size=2, max_size=6),
)
def test_intervals_never_leave_the_metric_range(values, errors):
    for metric, sample in ((ACCURACY, values), (MSE, errors)):
        summary = stats.summary(sample, metric)
        assert metric.low <= summary["ci_low"] <= summary["centre"] <= summary["ci_high"] <= metric.high


def test_a_diverged_seed_counts_as_a_failure():
    frame = frame_of(
        {"a": [1e-5, 2e-5, math.inf], "b": [0.1, 0.2, 0.15]}, threshold=0.01, status={("a", 2): "diverged"}
    )
    (experiment,) = analyse(frame, {TASK: MSE})
    a = experiment.seeds["a"]
    assert a.failures == 1 and a.solved == 2 and a.n == 3  # counted, and not as solved
    row = experiment.comparisons[0]
    assert row["p_better"] == pytest.approx(2 / 3)  # paired by seed: the failed seed loses to b's


def test_holm_and_paired_p_values_equal_statsmodels_and_scipy():
    values = {"a": [1e-5, 3e-5, 2e-5, 4e-5], "b": [2e-4, 1e-4, 3e-4, 2e-4], "c": [1e-3, 2e-5, 5e-4, 1e-4]}
    (experiment,) = analyse(frame_of(values), {TASK: MSE})
    rows = experiment.comparisons
    for row in rows:
        expected = scipy_stats.ttest_rel(np.log(values[row["a"]]), np.log(values[row["b"]]))
        assert row["p_raw"] == pytest.approx(expected.pvalue)
    adjusted = multipletests([row["p_raw"] for row in rows], method="holm")[1]
    assert [row["p_holm"] for row in rows] == pytest.approx(list(adjusted))


def test_unpaired_tasks_use_welch():
    frame = frame_of({"a": [1e-5, 3e-5, 2e-5], "b": [2e-4, 1e-4, 3e-4]}).assign(seeded_data=False)
    (experiment,) = analyse(frame, {TASK: MSE})
    expected = scipy_stats.ttest_ind(np.log([1e-5, 3e-5, 2e-5]), np.log([2e-4, 1e-4, 3e-4]), equal_var=False)
    assert not experiment.paired and experiment.comparisons[0]["p_raw"] == pytest.approx(expected.pvalue)


def test_models_on_different_seeds_are_compared_unpaired_not_called_tied():
    # a paired task, but "b" ran on seeds 3-5 only (a setting confirmed on fresh seeds)
    frame = frame_of({"a": [1e-5, 3e-5, 2e-5], "b": [0.2, 0.1, 0.3, 0.16, 0.17, 0.18]})
    frame = frame[~((frame["model"] == "b") & (frame["seed"] < 3))]
    (experiment,) = analyse(frame, {TASK: MSE})
    (row,) = experiment.comparisons
    expected = scipy_stats.ttest_ind(np.log([1e-5, 3e-5, 2e-5]), np.log([0.16, 0.17, 0.18]), equal_var=False)
    assert experiment.paired and not row["paired"] and row["p_raw"] == pytest.approx(expected.pvalue)
    assert experiment.verdicts["b"][0] == BELOW


def test_solved_counts_are_compared_exactly():
    (experiment,) = analyse(frame_of({"a": [1e-5] * 5, "b": [0.2] * 5}, threshold=0.01), {TASK: MSE})
    expected = scipy_stats.barnard_exact([[5, 0], [0, 5]]).pvalue
    assert experiment.comparisons[0]["p_solved_raw"] == pytest.approx(expected)


def test_an_undecided_pair_says_how_many_seeds_would_decide_it():
    (experiment,) = analyse(frame_of({"a": [1.0e-5, 3e-5, 2e-5], "b": [1.5e-5, 2e-5, 4e-5]}), {TASK: MSE})
    assert experiment.verdicts["b"][0] == TIED or experiment.verdicts["a"][0] == TIED
    seeds = experiment.comparisons[0]["seeds_for_power"]
    differences = np.log([1.0e-5, 3e-5, 2e-5]) - np.log([1.5e-5, 2e-5, 4e-5])  # paired, on the log scale
    effect = abs(differences.mean()) / differences.std(ddof=1)
    assert seeds == math.ceil(TTestPower().solve_power(effect_size=effect, alpha=0.05, power=0.8))
    (two,) = analyse(frame_of({"a": [1.0e-5, 3e-5], "b": [1.5e-5, 2e-5]}), {TASK: MSE})
    assert math.isnan(two.comparisons[0]["seeds_for_power"])  # two seeds cannot size a study


def test_friedman_and_the_critical_difference_follow_scipy_and_demsar():
    ranks = np.array([[1, 2, 3, 4], [1, 3, 2, 4], [2, 1, 3, 4], [1, 2, 4, 3], [1, 2, 3, 4]], dtype=float)
    result = stats.friedman(ranks)
    assert result["p_value"] == pytest.approx(scipy_stats.friedmanchisquare(*ranks.T).pvalue)
    q = scipy_stats.studentized_range.ppf(0.95, 4, np.inf) / math.sqrt(2)  # 2.569 in Demšar's table
    assert q == pytest.approx(2.569, abs=1e-3)
    assert result["critical_difference"] == pytest.approx(q * math.sqrt(4 * 5 / (6 * 5)))


def test_a_verdict_follows_the_declared_direction():
    higher = Metric("score", higher_is_better=True, low=0.0, high=1.0)
    frame = frame_of({"a": [0.9, 0.91, 0.92, 0.93, 0.9], "b": [0.5, 0.52, 0.51, 0.49, 0.5]}).rename(
        columns={"test_mse": "test_score"}
    )
    (experiment,) = analyse(frame, {TASK: higher})
    assert experiment.verdicts["a"][0] == BEST and experiment.verdicts["b"][0] == BELOW


def test_unequal_tuning_budgets_are_refused_unless_accepted():
    with pytest.raises(
        Exception, match="unequal tuning budgets on adding: settings tried per architecture: gru 1, lstm 2"
    ):
        expand(["gru", "lstm"], ["adding"], [0], {}, tune={"forget_bias": [0.0, 1.0]})
    cells = expand(["gru", "lstm"], ["adding"], [0], {}, tune={"forget_bias": [0.0, 1.0]}, unequal_tuning=True)
    assert len(cells) == 3


SETTINGS = ["threads=1", "max_steps=4", "eval_every=2", "train_size=64", "valid_size=32", "test_size=32", "T=6"]


def test_confirmation_seeds_report_the_selection_and_never_make_it(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--arch", "gru", "--task", "adding", "--seeds", "0", "1", "--tune", "lr=1e-3,3e-3"]
    assert main([*args, "--confirm-seeds", "5", "6", "--out", str(out), "--no-progress", "--set", *SETTINGS]) == 0
    seeds = pd.read_csv(out / "seeds.csv")
    tuning, confirming = seeds[seeds["role"] == "tuning"], seeds[seeds["role"] == "confirmation"]
    assert sorted(tuning["seed"].unique()) == [0, 1] and sorted(confirming["seed"]) == [5, 6]
    selected = tuning[tuning["selected"]]["setting"].unique()
    assert list(confirming["setting"].unique()) == list(selected)  # the selected setting, on fresh seeds
    means = tuning.groupby("setting")["valid"].mean()
    assert selected[0] == means.idxmin()  # chosen on the tuning seeds' validation mean alone
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["seeds"].tolist() == [2]  # the leaderboard reports the confirmation seeds
    capsys.readouterr()
    assert main([*args, "--confirm-seeds", "1", "7", "--out", str(out), "--no-progress", "--set", *SETTINGS]) == 2
    assert "confirmation seeds 1 also tune the setting" in capsys.readouterr().err


def test_confirmation_seeds_never_take_part_in_the_selection(tmp_path):
    """Confirmation rows whose validation would flip the choice leave it as it is."""
    from bench.results import select

    rows = []
    for seed, (low, high) in enumerate([(0.1, 0.2), (0.1, 0.2)]):
        rows += [("lr=0.001", seed, low, False), ("lr=0.003", seed, high, False)]
    rows += [("lr=0.003", 9, 0.0, True)] * 3  # would make lr=0.003 the best if it counted
    frame = pd.DataFrame(rows, columns=["setting", "seed", "valid_mse", "confirmation"]).assign(
        experiment="e", model="m", metric="mse", higher_is_better=False
    )
    chosen = select(frame)
    assert set(chosen.loc[chosen["selected"] & ~chosen["confirmation"], "setting"]) == {"lr=0.001"}


def test_the_report_marks_grid_edges(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "run",
        "--arch",
        "gru",
        "--task",
        "adding",
        "--seeds",
        "0",
        "1",
        "--tune",
        "lr=1e-3,3e-3",
        "--out",
        str(out),
    ]
    assert main([*args, "--no-progress", "--set", *SETTINGS]) == 0  # of two values, one is always an edge
    printed = capsys.readouterr().out
    assert "is the smallest tried" in printed or "is the largest tried" in printed
    assert pd.read_csv(out / "tuning.csv").set_index("selected")["edge"].str.contains("tried").any()


@pytest.mark.parametrize(
    ("solved", "reading"),
    [([False, True, False], "the best may lie beyond the grid"), ([False, False, False], "noise around failure")],
)
def test_an_edge_reads_as_a_pointer_beyond_the_grid_unless_every_setting_failed(solved, reading):
    from bench.leaderboard import grid_edges

    frame = pd.DataFrame(
        {
            "experiment": "e", "model": "m", "setting": ["lr=0.001", "lr=0.002", "lr=0.004"],
            "run.lr": [1e-3, 2e-3, 4e-3], "tuned": "lr", "selected": [True, False, False],
            "confirmation": False, "solved": solved, "status": "ok",
        }
    )  # fmt: skip
    (note,) = grid_edges(frame)[("e", "m")]
    assert note.startswith("lr=0.001 is the smallest tried") and reading in note


def test_weights_that_never_beat_their_initialisation_are_marked():
    from bench.leaderboard import leaderboard_table
    from bench.tables import summary_table

    frame = frame_of({"a": [0.1, 0.12, 0.11], "b": [0.2, 0.21, 0.19]}).assign(
        best_step=[0, 100, 100, 100, 100, 100], setting="", tuned="", confirmation=False, selected=True,
        **{"run.hidden_size": 8, "encoder_params": 10, "params": 12, "state_size": 8},
    )  # fmt: skip
    summary = summary_table(frame.assign(metric="mse"), {TASK: MSE})
    assert "† untrained" in summary.loc["a"].iloc[0] and "†" not in summary.loc["b"].iloc[0]
    board = leaderboard_table(analyse(frame, {TASK: MSE}), frame)
    assert "seed(s) 0 never beat the initial weights" in board.loc[(TASK, "a"), "notes"]
    assert board.loc[(TASK, "a")].filter(like="test").iloc[0].endswith("†")


def test_a_pair_with_one_seed_on_a_side_gets_no_probability_of_improvement():
    frame = frame_of({"a": [1e-5], "b": [0.1, 0.2]})
    (experiment,) = analyse(frame, {TASK: MSE})
    (row,) = experiment.comparisons
    # one seed of a beats both of b's, but a 1 read from one seed would look like a verdict
    assert math.isnan(row["p_better"]) and math.isnan(row["p_better_low"]) and math.isnan(row["p_better_high"])


def test_the_seeds_that_would_decide_a_pair_are_sized_at_its_holm_level():
    values = {"a": [1.0e-5, 3e-5, 2e-5], "b": [1.5e-5, 2e-5, 4e-5], "c": [1.2e-5, 2.6e-5, 2.5e-5]}
    (experiment,) = analyse(frame_of(values), {TASK: MSE})
    rows = experiment.comparisons
    order = np.argsort([row["p_raw"] for row in rows])
    for rank, index in enumerate(order):  # Holm: the i-th smallest p-value of m is held to 0.05 / (m - i)
        row = rows[index]
        differences = np.log(values[row["a"]]) - np.log(values[row["b"]])
        effect = abs(differences.mean()) / differences.std(ddof=1)
        level = 0.05 / (len(rows) - rank)
        expected = math.ceil(TTestPower().solve_power(effect_size=effect, alpha=level, power=0.8))
        assert row["seeds_for_power"] == expected
    assert stats.holm_levels([0.3, math.nan, 0.01]) == pytest.approx([0.05 / 2, 0.05 / 3, 0.05 / 3])


def test_a_very_large_effect_is_sized_not_called_undecidable():
    # about 7 standard deviations apart: statsmodels' root finder fails here; two or three seeds suffice
    a, b = [0.90, 0.91, 0.92], [0.70, 0.713, 0.72]
    seeds = stats.seeds_for_power(a, b, ACCURACY, paired=True, alpha=0.05 / 15)
    assert math.isfinite(seeds) and 2 <= seeds <= 6


def test_seeds_all_at_a_bound_are_centred_on_it():
    summary = stats.summary([1.0, 1.0, 1.0], ACCURACY)
    assert summary["centre"] == summary["ci_low"] == summary["ci_high"] == 1.0


@pytest.mark.parametrize("paired", [True, False])
def test_the_power_equals_statsmodels_where_statsmodels_is_finite(paired):
    from statsmodels.stats.power import TTestIndPower

    seeds = np.arange(2, 40)
    for effect in (0.3, 1.0, 2.5):
        ours = stats.t_test_power(effect, seeds, 0.05, paired)
        solver = TTestPower() if paired else TTestIndPower()
        theirs = np.array([solver.power(effect, n, 0.05) for n in seeds], dtype=float)
        finite = np.isfinite(theirs)
        assert finite.sum() > 10 and np.allclose(ours[finite], theirs[finite], atol=1e-6)


def test_unmatched_budgets_are_named_per_model_not_per_architecture():
    from bench.leaderboard import notes_table

    frame = frame_of({"gru blocks=1": [1e-4, 2e-4], "gru blocks=3": [1e-4, 3e-4]})
    frame["arch"] = "gru"  # one architecture, two models: the grid varied its depth
    frame["encoder_params"] = frame["model"].map({"gru blocks=1": 10_000, "gru blocks=3": 30_000})
    frame["match"], frame["tuned"], frame["code"] = None, None, None
    experiments = analyse(frame, {TASK: MSE})
    notes = notes_table(experiments, frame)["note"].tolist()
    assert any("differ from 10,000 to 30,000" in note for note in notes)
