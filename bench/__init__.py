"""rnnbench: benchmark recurrent architectures against tasks, as plugins.

Public API (everything a plugin or a user script needs):

    from bench import hookimpl, Architecture, Task, TaskData, SequenceSet, Metric
    from bench import Probe, ExecutorSpec, TrackerSpec        # the other extension points
    from bench import run, load_results, write_reports, list_architectures, list_tasks
    from bench import register_plugin, unregister_plugin   # a plugin defined in a script or notebook
    from bench import hold_out, atomic_write, IGNORE       # helpers for task plugins (IGNORE: the
                                                           # target of a position with no answer)
    from bench import execute                              # one cell, as an executor plugin runs it
    from bench import linear_scan                          # h_t = a_t h_{t-1} + b_t, in parallel

Names are imported on first use, so that ``import bench`` (and the command line's start-up)
stays quick; `bench.architecture` flushes float32 denormals as torch is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from bench.architecture import Architecture
    from bench.task import Task

# public name -> the module that defines it
_PUBLIC = {
    "Architecture": "bench.architecture",
    "ConfigError": "bench.errors",
    "DataError": "bench.errors",
    "PluginError": "bench.errors",
    "RnnbenchError": "bench.errors",
    "UnknownNameError": "bench.errors",
    "ExecutorOptions": "bench.executors",
    "atomic_write": "bench.files",
    "ExecutorSpec": "bench.executors",
    "hookimpl": "bench.hookspecs",
    "Metric": "bench.metrics",
    "Drawn": "bench.probe",
    "Probe": "bench.probe",
    "ProbeContext": "bench.probe",
    "Record": "bench.record",
    "SequenceSet": "bench.task",
    "Task": "bench.task",
    "TaskData": "bench.task",
    "hold_out": "bench.task",
    "IGNORE": "bench.task",
    "execute": "bench.runner",
    "TrackerSpec": "bench.trackers",
    "run": "bench.suite",
    "linear_scan": "bench.scan",
}

__all__ = sorted(
    [
        *_PUBLIC,
        "get_architecture",
        "get_task",
        "list_architectures",
        "list_tasks",
        "load_results",
        "public_module",
        "register_plugin",
        "unregister_plugin",
        "write_reports",
    ]
)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # once imported, an ordinary attribute
        return value
    raise AttributeError(f"module 'bench' has no attribute {name!r}")


def public_module(name: str) -> str:
    """The module that defines the public name ``name`` (for documentation tools)."""
    if name not in __all__:
        raise AttributeError(f"{name!r} is not one of bench's public names: {', '.join(__all__)}")
    return _PUBLIC.get(name, __name__)


def list_architectures() -> list[str]:
    """Names of every registered architecture (built-in and installed plugins), sorted."""
    from bench.plugins import architectures

    return architectures().names()


def list_tasks() -> list[str]:
    """Names of every registered task, sorted."""
    from bench.plugins import tasks

    return tasks().names()


def get_architecture(name: str) -> Architecture:
    """The registered `Architecture` called ``name`` (an unknown name suggests the closest)."""
    from bench.plugins import architectures

    return architectures().get(name)


def get_task(name: str) -> Task:
    """The registered `Task` called ``name`` (an unknown name suggests the closest)."""
    from bench.plugins import tasks

    return tasks().get(name)


def register_plugin(plugin: object, name: str) -> None:
    """Register ``plugin`` (a module or object with ``bench.hookimpl`` functions) under
    ``name`` for the rest of this process, as an installed plugin is: for a plugin defined
    in a script or a notebook. It is checked at once, as an installed one is (its hooks
    exist, return what they must, raise nothing, and clash with no other plugin's names):
    a problem is a PluginError and registers nothing. Registering a name again (re-running
    a notebook cell) replaces the plugin registered under it."""
    from bench.plugins import register

    register(plugin, name)


def unregister_plugin(name: str) -> None:
    """Remove the plugin registered as ``name`` (by `register_plugin`)."""
    from bench.plugins import unregister

    unregister(name)


def load_results(directory: str) -> pd.DataFrame:
    """One row per stored cell of a results folder: identity, status, metrics, throughput,
    gradient summaries, and the labels tables group by (`bench.results.load_results`)."""
    from bench.results import load_results

    return load_results(directory)


def write_reports(directory: str, html: bool = False) -> dict[str, pd.DataFrame]:
    """Write the tables (CSV) and figures of a results folder, and with ``html`` also
    report.html and report.md, as `rnnbench report` does; return the tables by name."""
    from bench.report import write_reports

    return write_reports(directory, html=html)[1]
