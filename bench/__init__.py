"""rnnbench: benchmark recurrent architectures against tasks, as plugins.

Public API (everything a plugin or a user script needs):

    from bench import hookimpl, Architecture, Task, TaskData, SequenceSet
    from bench import run, load_results, list_architectures, list_tasks
"""

import torch

from bench.architecture import Architecture
from bench.errors import ConfigError, DataError, PluginError, RnnbenchError, UnknownNameError
from bench.hookspecs import hookimpl
from bench.plugins import architectures, tasks
from bench.report import load_results
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
    "run",
]


def list_architectures() -> list[str]:
    return architectures().names()


def list_tasks() -> list[str]:
    return tasks().names()


def get_architecture(name: str) -> Architecture:
    return architectures().get(name)


def get_task(name: str) -> Task:
    return tasks().get(name)
