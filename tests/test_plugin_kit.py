"""The plugin authoring kit: the example package and `rnnbench new-plugin`, installed the
way a user installs them (pip, entry points) into a private folder, then driven through
the CLI in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import ConfigError
from bench.scaffold import write_plugin
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]


def install(package: Path, target: Path) -> dict[str, str]:
    """pip-install ``package`` into ``target``; return an environment that sees it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}


def rnnbench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], env=env, capture_output=True, text=True)


def test_example_plugin_installs_lists_runs_and_reports(tmp_path):
    env = install(ROOT / "examples" / "indrnn", tmp_path / "site")
    listing = rnnbench(env, "list")
    assert "indrnn" in listing.stdout and "[plugin: indrnn]" in listing.stdout
    out = tmp_path / "out"
    run = rnnbench(
        env,
        "run",
        "--arch",
        "indrnn",
        "--task",
        "adding",
        "--seeds",
        "0",
        "--out",
        str(out),
        "--no-progress",
        "--set",
        *TINY,
    )
    assert run.returncode == 0, run.stderr
    report = rnnbench(env, "report", str(out))
    assert "indrnn" in report.stdout and "dL/dh forward" in report.stdout  # unrolled() feeds the probe
    assert rnnbench(env, "check", "indrnn").returncode == 0


def test_new_plugin_skeleton_installs_and_passes_the_checks(tmp_path):
    root = write_plugin("my_cell", tmp_path)
    env = install(root, tmp_path / "site")
    check = rnnbench(env, "check", "my_cell")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "FAIL" not in check.stdout and "pass  padding invariance" in check.stdout


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path):
    with pytest.raises(ConfigError, match="lower-case letters"):
        write_plugin("My-Cell", tmp_path)
    write_plugin("cell", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        write_plugin("cell", tmp_path)
