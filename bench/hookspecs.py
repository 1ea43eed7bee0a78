"""The hooks a plugin may implement. This list is the whole plugin API; it is kept stable.

A plugin is a module (or any object) with functions decorated by ``bench.hookimpl`` whose
names match the specs below. Every hook takes no argument and returns a list; names must be
unique across all plugins, and the host reports which two plugins clash. rnnbench registers
its own architectures, tasks, probes, executors and trackers through these same hooks.
"""

from __future__ import annotations

import pluggy

PROJECT = "rnnbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def rnnbench_register_architectures() -> list:  # list[bench.Architecture]
    """Return the recurrent encoders this plugin provides, as ``bench.Architecture`` objects."""


@hookspec
def rnnbench_register_tasks() -> list:  # list[bench.Task]
    """Return the tasks this plugin provides, as instances of ``bench.Task`` subclasses."""


@hookspec
def rnnbench_register_probes() -> list:  # list[bench.Probe]
    """Return the probes this plugin provides, as ``bench.Probe`` objects: each measures
    something of the model at initialisation, during or after training, stores it in every
    record under its key, and may draw a figure of it."""


@hookspec
def rnnbench_register_executors() -> list:  # list[bench.ExecutorSpec]
    """Return the executors this plugin provides, as ``bench.ExecutorSpec`` objects: where
    and how cells run (``--executor NAME``)."""


@hookspec
def rnnbench_register_trackers() -> list:  # list[bench.TrackerSpec]
    """Return the experiment trackers this plugin provides, as ``bench.TrackerSpec``
    objects: each receives a cell's start, every evaluation point, and its end
    (``--track NAME``)."""
