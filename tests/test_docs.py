"""The documentation: the site builds in strict mode (every internal link, page and anchor
resolves), its reference is the code's, every public name is documented, and the README's
links point at files that exist."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import bench
from bench.architecture import Architecture
from bench.cli import build_parser
from bench.reference import _commands, architectures_markdown, cli_markdown, settings_markdown, tasks_markdown
from tests.test_plugins import SumEncoder, architecture_plugin

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_of_bench_has_a_docstring():
    def documented(name: str) -> bool:
        value = getattr(bench, name)
        if callable(value) or inspect.isclass(value):
            return bool(value.__doc__ and value.__doc__.strip())
        return name in bench.__doc__  # a constant: the module's docstring says what it is

    undocumented = [name for name in bench.__all__ if not documented(name)]
    assert undocumented == []
    assert len(bench.__all__) >= 30  # the count the API page documents: a name dropped from __all__ shows here


def test_the_cli_reference_is_what_the_parser_prints():
    parser = build_parser()
    page = cli_markdown(parser)
    assert parser.format_help().rstrip() in page
    for name, command in _commands(parser):
        assert f"```text\n{command.format_help().rstrip()}\n```" in page
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert f'<a id="{name}{max(action.option_strings, key=len)}"></a>' in page


def test_the_settings_reference_gives_every_setting_its_comment():
    page = settings_markdown()
    assert "| `lr` | `0.002` | AdamW learning rate |" in page
    assert "| `blocks` | `1` | residual blocks stacked" in page
    assert "model shape" not in page  # a heading comment is no field's comment
    assert "|  |" not in page  # every setting has its comment


def test_the_registry_reference_shows_a_plugin_registered_now():
    bench.register_plugin(
        architecture_plugin(Architecture("docsprobe", "An encoder registered by a test.", SumEncoder)), "docs-test"
    )
    try:
        assert "## `docsprobe`\n\nAn encoder registered by a test." in architectures_markdown()
    finally:
        bench.unregister_plugin("docs-test")
    assert "## `docsprobe`" not in architectures_markdown()
    assert all(f"## `{name}`" in tasks_markdown() for name in bench.list_tasks())


def test_version_is_printed_and_recorded(capsys):
    from bench.cli import main
    from bench.environment import environment, installed_version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnnbench {installed_version()}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", installed_version())
    assert environment(torch.device("cpu"), 1)["rnnbench"] == installed_version()


def test_the_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert links and missing == []


@pytest.mark.skipif(
    shutil.which("mkdocs", path=os.path.dirname(sys.executable)) is None, reason="pip install '.[docs]'"
)
def test_the_site_builds_in_strict_mode(tmp_path):
    mkdocs = shutil.which("mkdocs", path=os.path.dirname(sys.executable))
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DISABLE_MKDOCS_2_WARNING": "true"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert 'id="run--match"' in cli
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text()
    assert all(name in api for name in bench.__all__)
