"""The hooks a plugin may implement. This list is the whole plugin API; it is kept stable.

A plugin is a module (or any object) with functions decorated by ``bench.hookimpl`` whose
names match the specs below. Every hook returns a list; names must be unique across all
plugins, and the host reports which two plugins clash.
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
