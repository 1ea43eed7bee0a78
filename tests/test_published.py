"""The committed records behind the README's tables (results/published/): every one loads
through the record's `upgrade()`, still counts as done when its cell is planned again (also
after an option is added to an architecture, a task or the run settings), and reports to the
very CSV tables committed beside it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench.architecture import Architecture
from bench.config import RunConfig
from bench.planner import expand
from bench.plugins import architectures, tasks
from bench.published import write_documents
from bench.record import FORMAT, Record
from bench.registry import Registry
from bench.report import write_tables
from bench.results import load
from bench.store import Store
from bench.task import Task

# The tests marked `registry` plan every record again through the registries: `make
# test-with-plugin` runs them with a third-party plugin installed. The tables do not depend on
# what is installed, so they run once.

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results" / "published"
FOLDERS = sorted(p.parent for p in PUBLISHED.glob("*/cells"))


def published_records() -> list[Record]:
    scans = [Store(folder).scan() for folder in FOLDERS]
    assert all(not scan.damaged for scan in scans), [scan.damaged for scan in scans]
    return [record for scan in scans for record in scan.records]


def test_every_published_record_loads_through_upgrade():
    records = published_records()
    assert len(records) >= 281
    for record in records:
        assert record.format == FORMAT and record.metric is not None
        assert {"gradients"} <= set(record.probes)  # format 1's top-level probes, moved
        again = Record.from_json(record.to_json(), record.id)
        assert again == record  # the current format round-trips


def planned_id(record: Record, arch_registry: Registry, task_registry: Registry) -> str:
    """The id the planner gives this record's cell today: every setting the record states,
    through `expand`, as a user re-running its command would."""
    overrides: dict[str, Any] = {k: v for k, v in record.run.items() if k not in RunConfig.EXECUTION}
    overrides.update({f"arch.{k}": v for k, v in record.arch_options.items()})
    overrides.update({f"task.{k}": v for k, v in record.task_options.items()})
    (cell,) = expand(
        [record.arch], [record.task], [record.seed], overrides, arch_registry=arch_registry, task_registry=task_registry
    )
    return cell.id


def registry_with(registry: Registry, replace) -> Registry:
    """A copy of ``registry`` with every item passed through ``replace``."""
    copied: Registry = Registry(registry.kind)
    for name, item, plugin in registry:
        copied.add(name, replace(item), plugin)
    return copied


def with_new_architecture_option(arch: Architecture) -> Architecture:
    def factory(input_size: int, hidden_size: int, new_option: float = 0.5, **options: Any):
        return arch.factory(input_size, hidden_size, **options)

    return dataclasses.replace(
        arch,
        factory=factory,
        defaults={**arch.defaults, "new_option": 0.5},
        added_later=(*arch.added_later, "new_option"),
    )


def with_new_task_option(task: Task) -> Task:
    wider = type(
        f"Wider{type(task).__name__}",
        (type(task),),
        {"defaults": {**task.defaults, "new_option": 3}, "added_later": (*task.added_later, "new_option")},
    )
    return wider()


@dataclasses.dataclass(frozen=True)
class RunConfigWithNewSetting(RunConfig):
    new_setting: int = 7
    ADDED_LATER = (*RunConfig.ADDED_LATER, "new_setting")


@pytest.mark.registry
@pytest.mark.parametrize("added", ["nothing", "architecture option", "task option", "run setting"])
def test_every_published_record_counts_as_done_when_an_option_is_added(added, monkeypatch):
    arch_registry, task_registry = architectures(), tasks()
    if added == "architecture option":
        arch_registry = registry_with(arch_registry, with_new_architecture_option)
    if added == "task option":
        task_registry = registry_with(task_registry, with_new_task_option)
    if added == "run setting":
        for module in ("bench.cell", "bench.planner"):  # where cells are planned and identified
            monkeypatch.setattr(f"{module}.RunConfig", RunConfigWithNewSetting)
    records = published_records()
    assert {r.arch for r in records} <= set(arch_registry.names())  # every one from a registered plugin
    missing = [r.id for r in records if planned_id(r, arch_registry, task_registry) != r.id]
    assert missing == []


@pytest.mark.registry
def test_an_option_added_without_added_later_changes_the_ids():
    """The policy is what keeps the ids: without it, the same new default changes them."""

    def without_policy(arch: Architecture) -> Architecture:
        return dataclasses.replace(with_new_architecture_option(arch), added_later=arch.added_later)

    registry = registry_with(architectures(), without_policy)
    record = next(r for r in published_records() if r.arch == "lstm")
    assert planned_id(record, registry, tasks()) != record.id


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_published_tables_are_regenerated_from_their_records(folder, tmp_path):
    """`rnnbench report` on a copy of the folder writes the CSV tables committed beside it."""
    copy = tmp_path / folder.name
    shutil.copytree(folder / "cells", copy / "cells")
    written = write_tables(load(copy))
    committed = sorted(p.name for p in folder.glob("*.csv"))
    assert sorted(f"{name}.csv" for name in written) == committed
    for name in committed:
        assert (copy / name).read_text() == (folder / name).read_text(), name


def test_every_table_in_the_readme_and_the_docs_equals_its_records():
    """`make tables` writes them; no hand-typed or hand-rounded number survives this."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert write_documents(documents, ROOT, check=True) == [], "run `make tables`"


def test_a_table_block_is_written_from_its_folder(tmp_path):
    document = tmp_path / "doc.md"
    spec = 'demo-amd-epyc leaderboard experiment="adding T=50" columns="verdict,seeds"'
    document.write_text(f"before\n<!-- table: {spec} -->\nstale\n<!-- /table -->\nafter\n")
    assert write_documents([document], ROOT, check=True) == [document]
    write_documents([document], ROOT)
    text = document.read_text()
    assert text.startswith("before\n<!-- table:") and text.endswith("<!-- /table -->\nafter\n")
    assert "| arch   | verdict" in text and "1 seed" in text and "stale" not in text
    assert write_documents([document], ROOT, check=True) == []


def test_a_block_keeps_a_column_it_names_in_full_and_picks_the_filled_one_by_prefix():
    from bench.published import _filtered

    table = pd.DataFrame(
        {"experiment": ["a", "b"], "arch": "gru", "test mse": ["0.1", ""], "test acc": ["", "0.9"], "notes": ""}
    ).set_index(["experiment", "arch"])
    kept = _filtered(table, {"experiment": "a", "columns": "test,notes"}, "spec")
    assert list(kept.columns) == ["test mse", "notes"]  # notes stays though no row of "a" has one
    assert list(_filtered(table, {"experiment": "b"}, "spec").columns) == ["test acc"]
