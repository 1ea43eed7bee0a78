"""The plugin manager: built-in plugins by explicit name, installed ones from entry points.

`plugin_manager()` is created once per process. `architectures()` and `tasks()` ask every
registered plugin each time they are called, so a plugin registered at run time (a test, a
notebook) shows up at once.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from typing import Any

import pluggy

from bench import hookspecs
from bench.architecture import Architecture
from bench.errors import PluginError
from bench.registry import Registry
from bench.task import Task

ENTRY_POINT_GROUP = "rnnbench"

# Built-in plugins, registered under these names in this order.
BUILTIN_PLUGINS = {
    "rnn": "architectures.rnn",
    "gru": "architectures.gru",
    "lstm": "architectures.lstm",
    "bilstm": "architectures.bilstm",
    "adding": "tasks.adding",
    "imdb": "tasks.imdb",
    "recall": "tasks.recall",
    "temporal_order": "tasks.temporal_order",
    "sfashion": "tasks.sfashion",
    "mnist1d": "tasks.mnist1d",
    "copy": "tasks.copy",
    "selective_copy": "tasks.selective_copy",
    "mqar": "tasks.mqar",
}


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with built-in and installed plugins registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module in BUILTIN_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    load_entry_points(pm)
    check_hooks(pm)
    return pm


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Import and register every plugin of the ``rnnbench`` entry-point group."""
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None:
            raise PluginError(
                f"the plugin name '{entry_point.name}' (entry point '{entry_point.value}' of "
                f"{_distribution(entry_point)}) is taken by another plugin; rename the entry point"
            )
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"could not import plugin '{entry_point.name}' = '{entry_point.value}' from "
                f"{_distribution(entry_point)}: {type(exc).__name__}: {exc}. Fix or uninstall "
                f"that package."
            ) from exc
        pm.register(plugin, name=entry_point.name)


def check_hooks(pm: pluggy.PluginManager) -> None:
    """A misspelt hook name is an error, not a plugin that silently does nothing."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin '{pm.get_name(exc.plugin)}' implements a hook rnnbench does not define: "
            f"{exc}. Known hooks: {', '.join(_hook_names())}."
        ) from exc


def register(plugin: Any, name: str) -> None:
    """Register a plugin at run time (tests, notebooks) and check its hooks."""
    pm = plugin_manager()
    pm.register(plugin, name=name)
    try:
        check_hooks(pm)
    except PluginError:
        pm.unregister(plugin)
        raise


def unregister(name: str) -> None:
    plugin_manager().unregister(name=name)


def architectures() -> Registry[Architecture]:
    return _collect("rnnbench_register_architectures", "architecture", Architecture)


def tasks() -> Registry[Task]:
    return _collect("rnnbench_register_tasks", "task", Task)


def _collect(hook_name: str, kind: str, expected: type) -> Registry:
    registry: Registry = Registry(kind)
    hook = getattr(plugin_manager().hook, hook_name)
    # Call each implementation ourselves (oldest registration first) so that every item
    # and every error can name the plugin it came from.
    for impl in hook.get_hookimpls():
        plugin = impl.plugin_name
        try:
            items = impl.function()
        except Exception as exc:
            raise PluginError(f"plugin '{plugin}' failed in {hook_name}(): {type(exc).__name__}: {exc}") from exc
        if not isinstance(items, list | tuple):
            raise PluginError(
                f"plugin '{plugin}': {hook_name}() must return a list of {expected.__name__}, "
                f"got {type(items).__name__}"
            )
        for item in items:
            if not isinstance(item, expected):
                raise PluginError(
                    f"plugin '{plugin}': {hook_name}() returned a {type(item).__name__}, "
                    f"expected {expected.__name__}" + (" instance" if expected is Task else "")
                )
            problems = item.validate() if isinstance(item, Task) else []
            if problems:
                raise PluginError(f"plugin '{plugin}': invalid task {item.name!r}: " + "; ".join(problems))
            registry.add(item.name, item, plugin)
    return registry


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"distribution '{dist.name} {dist.version}'" if dist else "an unknown distribution"


def _hook_names() -> list[str]:
    return [name for name in vars(hookspecs) if name.startswith("rnnbench_")]
