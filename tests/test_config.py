"""Settings, overrides and cell identity."""

from __future__ import annotations

import types

import pytest

from bench import ConfigError
from bench.config import RunConfig, coerce, parse_assignments
from bench.planner import expand


def test_overrides_are_typed_by_their_defaults():
    assert coerce("lr", "1e-3", 2e-3) == 0.001
    assert coerce("hidden_size", "32", 128) == 32
    assert coerce("flag", "false", True) is False
    assert coerce("forget_bias", "0.5", None) == 0.5
    assert coerce("forget_bias", "null", None) is None
    assert coerce("forget_bias", "none", 1.0) is None  # a float option can be switched off
    assert coerce("forget_bias", None, 1.0) is None


def test_run_settings_cannot_be_none():
    with pytest.raises(ConfigError, match="lr must have a value"):
        expand(["gru"], ["adding"], [0], {"lr": "none"})


@pytest.mark.parametrize(
    ("key", "value", "default", "message"),
    [
        ("hidden_size", "abc", 128, "hidden_size='abc': expected an integer"),
        ("hidden_size", "1.5", 128, "expected an integer"),
        ("lr", "fast", 0.1, "lr='fast': expected a number"),
        ("flag", "maybe", True, "expected true or false"),
    ],
)
def test_bad_override_values_are_explained(key, value, default, message):
    with pytest.raises(ConfigError, match=message):
        coerce(key, value, default)


def test_assignments_need_an_equals_sign():
    assert parse_assignments(["lr=1e-3", "T=5"]) == {"lr": "1e-3", "T": "5"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_assignments(["lr"])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hidden_size": 0}, "hidden_size must be >= 1"),
        ({"lr": -1.0}, "lr must lie in"),
        ({"device": "tpu"}, "device must be auto, cpu, cuda"),
        ({"schedule": "linear"}, "schedule must be one of constant, cosine"),
        ({"precision": "fp16"}, "precision must be one of fp32, bf16"),
    ],
)
def test_invalid_settings_are_rejected(settings, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(**settings)


def test_overrides_route_to_run_arch_and_task():
    cells = expand(["lstm", "rnn"], ["adding"], [0, 1], {"lr": "0.01", "forget_bias": "0", "T": "12"})
    assert [(c.arch, c.seed) for c in cells] == [("lstm", 0), ("rnn", 0), ("lstm", 1), ("rnn", 1)]
    lstm = cells[0]
    assert lstm.run.lr == 0.01 and lstm.task_options["T"] == 12
    assert lstm.arch_options["forget_bias"] == 0.0
    assert "forget_bias" not in cells[1].arch_options
    assert cells[0].run.max_steps == 3000  # the task's train_defaults apply


def test_unknown_setting_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown setting 'hiden_size'. Did you mean 'hidden_size'"):
        expand(["gru"], ["adding"], [0], {"hiden_size": "3"})


def test_cell_ids_are_stable_and_ignore_execution_settings():
    a = expand(["gru"], ["adding"], [0], {"T": "9"})[0]
    b = expand(["gru"], ["adding"], [0], {"T": "9", "threads": "1"})[0]
    c = expand(["gru"], ["adding"], [0], {"T": "10"})[0]
    assert a.id == b.id != c.id
    assert a.id.startswith("adding-gru-s0-")


def test_a_task_option_added_later_keeps_the_ids_stored_before_it(register_plugin):
    """A task that gains an option lists it in `added_later`: at its default the cells keep
    the ids they had without it (their stored results stay valid); set, it changes the id."""
    from bench import hookimpl, unregister_plugin
    from tasks.adding import AddingTask

    class Before(AddingTask):
        name = "adding_versions"

    class After(Before):
        defaults = {**AddingTask.defaults, "noise": 0.0}
        added_later = ("noise",)

    register_plugin(types.SimpleNamespace(rnnbench_register_tasks=hookimpl(lambda: [Before()])), "v1")
    before = expand(["gru"], ["adding_versions"], [0])[0]
    unregister_plugin("v1")
    register_plugin(types.SimpleNamespace(rnnbench_register_tasks=hookimpl(lambda: [After()])), "v2")
    after, noisy = (expand(["gru"], ["adding_versions"], [0], options)[0] for options in ({}, {"noise": 0.1}))
    assert before.id == after.id != noisy.id
    assert after.config()["task_options"]["noise"] == 0.0  # recorded in full all the same


def test_added_later_must_name_an_option():
    from tasks.adding import AddingTask

    class Wrong(AddingTask):
        added_later = ("nosie",)

    assert "added_later names 'nosie', which is not one of its options" in Wrong().validate()
