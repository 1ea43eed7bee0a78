"""Probes, executors and trackers are protocols with registries: a plugin defined here adds
one of each through the hooks, and the host uses them with no change to its code."""

from __future__ import annotations

import types
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import bench
from bench import ExecutorSpec, Probe, TrackerSpec, hookimpl, plugins
from bench.cli import main
from bench.executors import LocalExecutor
from bench.store import Store
from tests.helpers import TINY

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry

GRU = bench.get_architecture("gru")  # registered again by a clashing plugin below
RUN = ["--arch", "gru", "rnn", "--task", "adding", "--seeds", "0", "--no-progress", "--set", *TINY]


def measure_spread(context: bench.ProbeContext) -> dict:
    """The spread of the final states over the probe batch."""
    x = context.model.adapter(context.batch.inputs)
    return {"spread": float(context.model.encode(x, context.batch.lengths).std())}


def draw_spread(drawn: list[bench.Drawn]):
    figure, axis = plt.subplots()
    for d in drawn:
        axis.plot([e["step"] for e in d.record.probe("spread")], [e["spread"] for e in d.record.probe("spread")])
    return figure


class CountingExecutor(LocalExecutor):
    """Runs cells as the local executor does, and counts them."""

    ran: list[str] = []

    def run(self, cells, progress=False):
        for record in super().run(cells, progress):
            CountingExecutor.ran.append(record.id)
            yield record


class MemoryTracker:
    """Keeps every call, by cell."""

    calls: list[tuple] = []

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self, cell_id, config):
        MemoryTracker.calls.append(("start", cell_id, config["arch"]))

    def log(self, step, values):
        MemoryTracker.calls.append(("log", step, dict(values)))

    def end(self, record):
        MemoryTracker.calls.append(("end", record.id, record.status))


PLUGIN = types.SimpleNamespace(
    rnnbench_register_probes=hookimpl(
        lambda: [
            Probe(
                "spread",
                "spread of the final states",
                key="spread",
                when=("init", "end"),
                measure=measure_spread,
                draw=draw_spread,
                columns=lambda entries: {"spread_final": entries[-1]["spread"]} if entries else {},
            )
        ]
    ),
    rnnbench_register_executors=hookimpl(
        lambda: [ExecutorSpec("counting", "the local executor, counting", CountingExecutor)]
    ),
    rnnbench_register_trackers=hookimpl(lambda: [TrackerSpec("memory", "keeps calls in memory", MemoryTracker)]),
)


def test_a_plugin_adds_a_probe_an_executor_and_a_tracker(tmp_path, register_plugin, capsys):
    register_plugin(PLUGIN, "extensions")
    CountingExecutor.ran.clear()
    MemoryTracker.calls.clear()
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "spread" in listed and "counting" in listed and "memory" in listed

    out = tmp_path / "out"
    assert main(["run", *RUN, "--out", str(out), "--executor", "counting", "--track", "memory"]) == 0

    records = {r.arch: r for r in Store(out).records()}
    assert sorted(CountingExecutor.ran) == sorted(r.id for r in records.values())  # the executor ran them
    for record in records.values():  # the probe measured at initialisation and at the end
        assert [e["step"] for e in record.probe("spread")] == [0, record.steps]
    frame = bench.load_results(out)
    assert frame["spread_final"].notna().all()  # its columns reach the frame
    assert (out / "figures" / "spread_adding.png").exists()  # and its figure the report
    for record in records.values():  # the tracker saw each cell start, every evaluation, and its end
        calls = [c for c in MemoryTracker.calls if c[:2] in (("start", record.id), ("end", record.id))]
        assert calls == [("start", record.id, record.arch), ("end", record.id, "ok")]
    logged = [c[1] for c in MemoryTracker.calls if c[0] == "log"]
    assert logged == [h["step"] for r in sorted(records.values(), key=lambda r: CountingExecutor.ran.index(r.id))
                      for h in r.history]  # fmt: skip


def failing(context):
    raise RuntimeError("the probe's own bug")


def test_a_failing_probe_is_named_and_the_cell_kept(tmp_path, register_plugin, capsys):
    probe = Probe("broken", "always fails", key="broken", when=("init", "during", "end"), measure=failing)
    register_plugin(types.SimpleNamespace(rnnbench_register_probes=hookimpl(lambda: [probe])), "broken-probe")
    out = tmp_path / "out"
    assert main(["run", *RUN, "--out", str(out)]) == 0
    assert "probe 'broken' failed: RuntimeError: the probe's own bug (at step 0)" in capsys.readouterr().err
    for record in Store(out).records():
        assert record.status == "ok" and record.test  # the cell is stored, measured
        assert record.probe_errors == {"broken": "RuntimeError: the probe's own bug (at step 0)"}
        assert record.probe("gradients")  # the other probes ran
    assert "the probe's own bug" in bench.load_results(out)["probe_errors"].iloc[0]


@pytest.mark.parametrize(
    "plugin, message",
    [
        (object(), "implements no rnnbench hook"),
        (
            types.SimpleNamespace(rnnbench_register_tasks=hookimpl(lambda: 1 / 0)),
            "failed in rnnbench_register_tasks(): ZeroDivisionError",
        ),
        (
            types.SimpleNamespace(rnnbench_register_architectures=hookimpl(lambda gru=GRU: [gru])),
            "two plugins register the architecture 'gru'",
        ),
        (
            types.SimpleNamespace(
                rnnbench_register_probes=hookimpl(
                    lambda: [Probe("other", "x", key="gradients", when=("init",), measure=failing)]
                )
            ),
            "both store under the record key 'gradients'",
        ),
    ],
)
def test_register_plugin_checks_what_it_registers(plugin, message):
    with pytest.raises(bench.PluginError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bench.register_plugin(plugin, "bad")
    assert plugins.plugin_manager().get_plugin("bad") is None
    assert "gru" in bench.list_architectures()  # every later call still works


def test_registering_a_name_again_replaces_the_plugin(register_plugin):
    factory = bench.get_architecture("gru").factory

    def plugin(description: str):
        return types.SimpleNamespace(
            rnnbench_register_architectures=hookimpl(lambda: [bench.Architecture("again", description, factory)])
        )

    register_plugin(plugin("first"), "notebook-cell")
    register_plugin(plugin("second"), "notebook-cell")  # re-running a notebook cell
    assert bench.get_architecture("again").description == "second"
