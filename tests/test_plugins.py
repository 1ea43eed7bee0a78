"""The plugin host: registration, entry points, and every error it promises."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

import bench
from bench import Architecture, PluginError, hookimpl, plugins
from bench.cli import main

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry


class SumEncoder(torch.nn.Module):
    """A valid but minimal encoder: the running sum of a linear map, read at each length."""

    def __init__(self, input_size: int, hidden_size: int, scale: float = 1.0) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(input_size, hidden_size)
        self.scale = scale
        self.output_size = hidden_size

    def forward(self, x, lengths):
        sums = self.linear(x).cumsum(1) * self.scale
        return sums[torch.arange(len(x)), lengths - 1]


def architecture_plugin(*archs: Architecture):
    plugin = types.SimpleNamespace()
    plugin.rnnbench_register_architectures = hookimpl(lambda: list(archs))
    return plugin


def toy(name: str = "toy", **defaults) -> Architecture:
    return Architecture(name, "A cumulative-sum toy encoder.", SumEncoder, defaults)


def test_builtins_are_registered_under_explicit_names():
    # installed third-party plugins may add more; the built-ins are there under their own names
    for registry, builtins in (
        (plugins.architectures(), ("bilstm", "gru", "lstm", "rnn")),
        (
            plugins.tasks(),
            ("adding", "copy", "imdb", "mnist1d", "mqar", "recall", "selective_copy", "sfashion", "temporal_order"),
        ),
    ):
        for name in builtins:
            assert registry.plugin_of(name) == name


def test_a_registered_plugin_is_listed_and_runs(register_plugin, tmp_path, capsys):
    register_plugin(architecture_plugin(toy(scale=1.0)), "toy-plugin")
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "toy" in listing and "[plugin: toy-plugin]" in listing

    out = tmp_path / "results"
    code = main(
        [
            "run",
            "--arch",
            "toy",
            "--task",
            "adding",
            "--out",
            str(out),
            "--no-progress",
            "--set",
            "max_steps=4",
            "T=6",
            "train_size=64",
            "valid_size=32",
            "test_size=32",
            "scale=0.5",
        ]
    )
    assert code == 0
    frame = bench.load_results(out)
    assert frame.loc[0, "arch"] == "toy" and frame.loc[0, "status"] == "ok"


def test_two_plugins_registering_one_name_are_both_named(register_plugin):
    with pytest.raises(PluginError, match="architecture 'lstm': 'lstm' and 'impostor'"):
        register_plugin(architecture_plugin(toy("lstm")), "impostor")
    assert plugins.plugin_manager().get_plugin("impostor") is None  # nothing registered
    assert "lstm" in plugins.architectures()


def test_unknown_names_list_what_exists_and_suggest_the_closest():
    with pytest.raises(bench.UnknownNameError) as error:
        bench.get_architecture("lstn")
    message = str(error.value)
    assert "Did you mean 'lstm'?" in message and ", ".join(bench.list_architectures()) in message
    with pytest.raises(bench.UnknownNameError, match="unknown task 'addding'. Did you mean 'adding'"):
        bench.get_task("addding")


def test_cli_reports_unknown_names_without_a_traceback(capsys):
    assert main(["run", "--arch", "gru", "--task", "imbd_typo", "--no-progress"]) == 2
    assert "unknown task 'imbd_typo'" in capsys.readouterr().err


def test_a_misspelt_hook_is_an_error(register_plugin):
    plugin = types.SimpleNamespace(rnnbench_register_architecture=hookimpl(lambda: []))
    with pytest.raises(
        PluginError, match="rnnbench_register_architecture.*Known hooks: rnnbench_register_architectures"
    ):
        register_plugin(plugin, "typo")
    assert plugins.plugin_manager().get_plugin("typo") is None


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (lambda: "lstm", "must return a list of Architecture, got str"),
        (lambda: [object()], "returned a object, expected Architecture"),
        (lambda: 1 / 0, "failed in rnnbench_register_architectures\\(\\): ZeroDivisionError"),
    ],
)
def test_malformed_hook_results_name_the_plugin(register_plugin, result, message):
    plugin = types.SimpleNamespace(rnnbench_register_architectures=hookimpl(result))
    with pytest.raises(PluginError, match=f"plugin 'broken'.*{message}"):
        register_plugin(plugin, "broken")
    assert plugins.plugin_manager().get_plugin("broken") is None


def test_invalid_architecture_fields_are_explained():
    with pytest.raises(PluginError, match="name 'My Net' must match.*description must be a non-empty string"):
        Architecture("My Net", "", SumEncoder)


def test_encoder_without_output_size_is_explained():
    arch = Architecture("bad", "No output_size.", lambda i, h: torch.nn.Linear(i, h))
    with pytest.raises(PluginError, match="encoder.output_size must be a positive int"):
        arch.build(3, 4)


def test_entry_point_plugins_are_loaded(installed):
    installed(
        "fake-plugin-dist",
        {"fakearch": "fake_plugin_ok"},
        {
            "fake_plugin_ok.py": """
                import torch
                from bench import Architecture, hookimpl

                @hookimpl
                def rnnbench_register_architectures():
                    return [Architecture("fake", "From an entry point.", lambda i, h: torch.nn.GRU(i, h))]
            """
        },
    )
    assert plugins.architectures().plugin_of("fake") == "fakearch"


def test_a_plugin_that_fails_to_import_names_entry_point_and_distribution(installed):
    installed("broken-dist", {"brokenplugin": "fake_plugin_missing.module"})
    with pytest.raises(PluginError) as error:
        plugins.plugin_manager()
    message = str(error.value)
    assert "'brokenplugin' = 'fake_plugin_missing.module'" in message
    assert "distribution 'broken-dist 1.2.3'" in message
    assert "ModuleNotFoundError" in message


def test_an_entry_point_may_not_take_a_builtin_plugin_name(installed):
    installed("shadow-dist", {"lstm": "fake_plugin_shadow"}, {"fake_plugin_shadow.py": ""})
    with pytest.raises(PluginError, match="plugin name 'lstm'.*shadow-dist 1.2.3.*taken"):
        plugins.plugin_manager()


def test_every_hook_is_documented():
    from bench import hookspecs

    hooks = [getattr(hookspecs, name) for name in vars(hookspecs) if name.startswith("rnnbench_")]
    assert len(hooks) == 5
    assert all(hook.__doc__ and hook.__doc__.strip() for hook in hooks)
    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    assert all(f"`{hook.__name__}()`" in guide for hook in hooks)  # and in the plugin guide


def test_the_plugin_guide_lists_every_check_the_checker_runs():
    from bench.checks import CHECKS, checks_markdown

    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    block = guide.split("<!-- checks:start -->\n")[1].split("\n<!-- checks:end -->")[0]
    assert block == checks_markdown(), "run `make docs-checks`"
    assert len(block.splitlines()) == 2 + len(CHECKS)
