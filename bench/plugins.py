"""The plugin manager: built-in plugins by explicit name, installed ones from entry points.

rnnbench's own features (the four architectures, the tasks, the probes, the executors, the
trackers) are registered as internal plugins, through the same hooks a third party uses.

`plugin_manager()` is created once per process. The registries (`architectures()`,
`tasks()`, and `bench.probe.probes()`, `bench.executors.executors()`,
`bench.trackers.trackers()`) ask every registered plugin each time they are called, so a
plugin registered at run time (a test, a notebook) shows up at once.
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
from bench.record import NOT_INSTALLED, PluginSource
from bench.registry import Registry
from bench.task import Task

ENTRY_POINT_GROUP = "rnnbench"
DISTRIBUTION = "rnnbench"  # the distribution of the built-in plugins

# Built-in plugins, registered under these names in this order.
BUILTIN_PLUGINS = {
    "rnn": "architectures.rnn",
    "gru": "architectures.gru",
    "lstm": "architectures.lstm",
    "bilstm": "architectures.bilstm",
    "minrnn": "architectures.minrnn",
    "lru": "architectures.lru",
    "s4d": "architectures.s4d",
    "mamba": "architectures.mamba",
    "rglru": "architectures.rglru",
    "xlstm": "architectures.xlstm",
    "adding": "tasks.adding",
    "imdb": "tasks.imdb",
    "recall": "tasks.recall",
    "temporal_order": "tasks.temporal_order",
    "sfashion": "tasks.sfashion",
    "mnist1d": "tasks.mnist1d",
    "copy": "tasks.copy",
    "selective_copy": "tasks.selective_copy",
    "mqar": "tasks.mqar",
    "parity": "tasks.parity",
    "rnnbench-probes": "bench.builtin_probes",
    "rnnbench-executors": "bench.executors",
    "rnnbench-trackers": "bench.trackers",
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


@functools.cache
def _entry_point_distributions() -> dict[str, tuple[str, str]]:
    """Plugin name -> (distribution, version) of every installed entry point."""
    found = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.dist is not None:
            found[entry_point.name] = (entry_point.dist.name, entry_point.dist.version)
    return found


def load_entry_points(pm: pluggy.PluginManager) -> None:
    """Import and register every plugin of the ``rnnbench`` entry-point group."""
    _entry_point_distributions.cache_clear()
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
            f"{exc}. Known hooks: {', '.join(hook_names())}."
        ) from exc


def register(plugin: Any, name: str) -> None:
    """Register a plugin at run time (tests, notebooks) and check it as an installed one is
    checked: its hooks exist, each returns what it must, and no name clashes with another
    plugin's. A plugin already registered under ``name`` is replaced (re-running a notebook
    cell registers the same plugin again). On any problem nothing is registered."""
    if not isinstance(name, str) or not name:
        raise PluginError(f"register_plugin needs a plugin name (a non-empty string), got {name!r}")
    marker = f"{hookspecs.PROJECT}_impl"  # what bench.hookimpl sets on a function
    if not any(hasattr(getattr(plugin, attribute, None), marker) for attribute in dir(plugin)):
        raise PluginError(
            f"{plugin!r} implements no rnnbench hook: decorate functions named after the hooks with "
            f"@bench.hookimpl ({', '.join(hook_names())})"
        )
    pm = plugin_manager()
    previous = pm.get_plugin(name)
    if previous is not None:
        if previous is not plugin and name in BUILTIN_PLUGINS:
            raise PluginError(f"'{name}' is the name of a built-in plugin; register yours under another name")
        pm.unregister(name=name)
    try:
        pm.register(plugin, name=name)
    except ValueError as exc:  # pluggy: this very object is registered under another name
        _restore(pm, previous, name)
        raise PluginError(f"cannot register plugin '{name}': {exc}") from None
    try:
        check_hooks(pm)
        for collect_all in registries():
            collect_all()
    except PluginError:
        pm.unregister(plugin)
        _restore(pm, previous, name)
        raise


def _restore(pm: pluggy.PluginManager, previous: Any, name: str) -> None:
    if previous is not None and pm.get_plugin(name) is None:
        pm.register(previous, name=name)


def unregister(name: str) -> None:
    plugin_manager().unregister(name=name)


def architectures() -> Registry[Architecture]:
    return collect("rnnbench_register_architectures", "architecture", Architecture)


def tasks() -> Registry[Task]:
    return collect("rnnbench_register_tasks", "task", Task)


def registries() -> list:
    """Every registry's collecting function (for checking a newly registered plugin)."""
    from bench.executors import executors
    from bench.probe import probes
    from bench.trackers import trackers

    return [architectures, tasks, probes, executors, trackers]


def collect(hook_name: str, kind: str, expected: type) -> Registry:
    """The items every plugin returns from ``hook_name``, each checked to be an ``expected``
    (and valid, when it has a ``validate()``), by unique name."""
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


def source(plugin: str) -> PluginSource:
    """Where the plugin registered as ``plugin`` comes from: rnnbench itself, an installed
    distribution (with its version), or a run-time registration (not installed)."""
    if plugin in BUILTIN_PLUGINS:
        return PluginSource(plugin, DISTRIBUTION, _version(DISTRIBUTION))
    installed = _entry_point_distributions().get(plugin)
    if installed is not None:
        return PluginSource(plugin, *installed)
    return PluginSource(plugin, NOT_INSTALLED, None)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"distribution '{dist.name} {dist.version}'" if dist else "an unknown distribution"


def hook_names() -> list[str]:
    return [name for name in vars(hookspecs) if name.startswith("rnnbench_")]
