"""Shared fixtures: throw-away plugins and installed-distribution fakes."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import bench
from bench import plugins


@pytest.fixture
def register_plugin():
    """Register plugin objects for one test (through the public `bench.register_plugin`);
    they are unregistered afterwards."""
    names = []

    def register(plugin, name: str):
        bench.register_plugin(plugin, name)
        names.append(name)
        return plugin

    yield register
    for name in names:
        if plugins.plugin_manager().get_plugin(name) is not None:
            bench.unregister_plugin(name)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Fake an installed distribution with `rnnbench` entry points, then rebuild the manager.

    ``installed("dist-name", {"ep": "module.path"}, {"module/path.py": "source"})``
    """

    def install(distribution: str, entry_points: dict[str, str], files: dict[str, str] | None = None) -> None:
        for relative, source in (files or {}).items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        info = tmp_path / f"{distribution.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        info.joinpath("METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.2.3\n")
        lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
        info.joinpath("entry_points.txt").write_text(f"[rnnbench]\n{lines}\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        plugins.plugin_manager.cache_clear()

    yield install
    plugins.plugin_manager.cache_clear()
    for name in [m for m in sys.modules if m.startswith("fake_plugin")]:
        del sys.modules[name]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path
