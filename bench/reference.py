"""The documentation site's reference pages, written from the code at build time
(`docs/gen_pages.py`), never by hand: the command line from its parser, the run settings
from `RunConfig` and the comments beside each default, and every registered architecture,
task, probe, executor and tracker from the registries, an installed plugin's included.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bench.config import RunConfig
from bench.executors import executors
from bench.plugins import architectures, tasks
from bench.probe import probes
from bench.trackers import trackers


def cli_markdown(parser: argparse.ArgumentParser) -> str:
    """One section per command: what ``rnnbench COMMAND --help`` prints, then its options,
    each with an anchor (``#run--match``) that other pages link to."""
    lines = ["# Command line", "", "Written from the argument parser (`bench/cli.py`) when the site is built.", ""]
    lines += ["```text", parser.format_help().rstrip(), "```", ""]
    for name, command in _commands(parser):
        lines += [f"## rnnbench {name}", "", "```text", command.format_help().rstrip(), "```", ""]
        options = [action for action in command._actions if action.option_strings and action.dest != "help"]
        if options:
            lines += ["| option | default | what it does |", "| --- | --- | --- |"]
            for action in options:
                flag = max(action.option_strings, key=len)
                anchor = f'<a id="{name}{flag}"></a>'
                default = "" if action.default in (None, [], False, argparse.SUPPRESS) else f"`{action.default}`"
                lines.append(f"| {anchor}`{', '.join(action.option_strings)}` | {default} | {_cell(action.help)} |")
            lines.append("")
    return "\n".join(lines)


def _commands(parser: argparse.ArgumentParser) -> Iterable[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def settings_markdown() -> str:
    """The run settings (``--set KEY=VALUE``): name, default, and the comment the code gives it."""
    lines = [
        "# Run settings",
        "",
        "Every setting `--set KEY=VALUE` takes, with its default and the comment beside it in "
        "`bench/config.py` (written from the code when the site is built). A task's training "
        "defaults replace these (see [tasks](tasks.md)); `--set` replaces both.",
        "",
        "| setting | default | what it is |",
        "| --- | --- | --- |",
    ]
    comments = field_comments(RunConfig)
    for field in dataclasses.fields(RunConfig):
        lines.append(f"| `{field.name}` | `{field.default!r}` | {_cell(comments.get(field.name, ''))} |")
    return "\n".join(lines) + "\n"


def field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in ``cls``'s source: the lines of ``#`` just above it and the
    ``#`` after it on its own line, joined (a ``##`` line heads a group of fields: skipped)."""
    comments: dict[str, str] = {}
    above: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("##"):
            continue
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# "))
            continue
        match = re.match(r"(\w+): [^=]+=[^#]*(?:#\s*(.*))?$", stripped)
        if match:
            comments[match.group(1)] = " ".join([*above, match.group(2) or ""]).strip()
        above = []
    return comments


def architectures_markdown() -> str:
    """Every registered architecture: its description, the plugin it came from, its options."""
    lines = [
        "# Architectures",
        "",
        "Every architecture registered here (the built-ins and any installed plugin), written from "
        "the registry when the site is built: `rnnbench list` shows the same. Options are set with "
        "`--set KEY=VALUE` (or `arch.KEY=VALUE`); their types come from the defaults.",
        "",
    ]
    for name, arch, plugin in architectures():
        lines += [f"## `{name}`", "", _cell(arch.description), "", f"Plugin: `{plugin}`.", ""]
        lines += _options_table(arch.defaults, "architecture options")
        doc = inspect.getdoc(inspect.getmodule(arch.factory))
        if doc:
            lines += ['??? note "From its module\'s docstring"', "", *_indent(doc), ""]
    return "\n".join(lines)


def tasks_markdown() -> str:
    """Every registered task: what it measures, its metrics and range, chance, options, and
    the training settings it brings."""
    lines = [
        "# Tasks",
        "",
        "Every task registered here (the built-ins and any installed plugin), written from the "
        "registry when the site is built.",
        "",
    ]
    for name, task, plugin in tasks():
        lines += [f"## `{name}`", "", _cell(task.description), "", f"Plugin: `{plugin}`.", ""]
        facts = {
            "answer read": "at every marked position (`sequence()`)" if task.outputs == "sequence" else "at the end",
            "length option": f"`{task.length_option}`" if task.length_option else "–",
            "solved at": "–" if task.solved_threshold is None else f"{task.solved_threshold:g}",
            "seeds by default": str(task.default_seeds),
            "data depend only on the seed": "yes (tests paired by seed)" if task.seeded_data else "no (unpaired)",
        }
        for metric in task.metric_declarations:
            better = "higher" if metric.higher_is_better else "lower"
            facts[f"metric `{metric.name}`"] = f"{better} is better, in [{metric.low:g}, {metric.high:g}]"
        lines += ["| | |", "| --- | --- |", *(f"| {key} | {value} |" for key, value in facts.items()), ""]
        lines += _options_table(task.defaults, "task options")
        lines += _options_table(task.train_defaults, "training settings it brings (run settings)")
    return "\n".join(lines)


def plugins_markdown() -> str:
    """The probes, executors and trackers registered, each with its plugin."""
    lines = ["# Probes, executors and trackers", "", "Written from the registries when the site is built.", ""]
    for title, registry in (("Probes", probes()), ("Executors", executors()), ("Trackers", trackers())):
        lines += [f"## {title}", "", "| name | what it does | plugin |", "| --- | --- | --- |"]
        lines += [f"| `{name}` | {_cell(item.description)} | `{plugin}` |" for name, item, plugin in registry]
        lines.append("")
    return "\n".join(lines)


def _options_table(options: Mapping[str, Any], title: str) -> list[str]:
    if not options:
        return []
    rows = [f"| `{key}` | `{value!r}` |" for key, value in options.items()]
    return [f"| {title} | default |", "| --- | --- |", *rows, ""]


def _indent(text: str) -> list[str]:
    return [f"    {line}" if line else "" for line in text.splitlines()]


def _cell(text: str | None) -> str:
    """Text that fits in one markdown table cell."""
    return html.escape(text or "", quote=False).replace("|", "\\|").replace("\n", " ")
