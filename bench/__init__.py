"""rnnbench: benchmark recurrent architectures against tasks, as plugins.

Public API (everything a plugin or a user script needs):

    from bench import hookimpl, Architecture, Task, TaskData, SequenceSet
    from bench import run, load_results, write_reports, list_architectures, list_tasks
    from bench import register_plugin, unregister_plugin   # a plugin defined in a script or notebook
"""

import torch

from bench.architecture import Architecture
from bench.errors import ConfigError, DataError, PluginError, RnnbenchError, UnknownNameError
from bench.hookspecs import hookimpl
from bench.plugins import architectures, register, tasks, unregister
from bench.report import load_results
from bench.reporting import write_reports
from bench.suite import run
from bench.task import SequenceSet, Task, TaskData

# Sequence-to-one gradients decay into float32 denormals going back through time, and x86
# CPUs compute on denormals many times slower (LSTM, B=64, T=256, H=256, 2 threads: 3.1 s
# vs 0.22 s per forward+backward). Flush them to zero. This must happen before torch starts
# its thread pool: worker threads inherit the setting only when they are created.
torch.set_flush_denormal(True)


__all__ = [
    "Architecture",
    "ConfigError",
    "DataError",
    "PluginError",
    "RnnbenchError",
    "SequenceSet",
    "Task",
    "TaskData",
    "UnknownNameError",
    "get_architecture",
    "get_task",
    "hookimpl",
    "list_architectures",
    "list_tasks",
    "load_results",
    "register_plugin",
    "run",
    "unregister_plugin",
    "write_reports",
]


def list_architectures() -> list[str]:
    """Names of every registered architecture (built-in and installed plugins), sorted."""
    return architectures().names()


def list_tasks() -> list[str]:
    """Names of every registered task, sorted."""
    return tasks().names()


def register_plugin(plugin: object, name: str) -> None:
    """Register ``plugin`` (a module or object with ``bench.hookimpl`` functions) under
    ``name`` for the rest of this process, as an installed plugin is: for a plugin defined
    in a script or a notebook. Its hooks are checked at once; a clash is a PluginError."""
    register(plugin, name)


def unregister_plugin(name: str) -> None:
    """Remove the plugin registered as ``name`` (by `register_plugin`)."""
    unregister(name)


def get_architecture(name: str) -> Architecture:
    """The registered `Architecture` called ``name`` (an unknown name suggests the closest)."""
    return architectures().get(name)


def get_task(name: str) -> Task:
    """The registered `Task` called ``name`` (an unknown name suggests the closest)."""
    return tasks().get(name)
