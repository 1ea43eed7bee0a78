"""The built-in trackers, read back with their own libraries: every evaluation point and the
final numbers of every cell are there."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.store import Store
from tests.helpers import TINY

RUN = ["run", "--arch", "gru", "rnn", "--task", "adding", "--seeds", "0", "--no-progress", "--set", *TINY]


def test_tensorboard_event_files_hold_every_evaluation(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), "--track", "tensorboard"]) == 0
    for record in Store(out).records():
        events = event_accumulator.EventAccumulator(str(out / "tensorboard" / record.id))
        events.Reload()
        scalars = events.Tags()["scalars"]
        logged = events.Scalars("valid_mse")
        assert [e.step for e in logged] == [h["step"] for h in record.history]
        assert [e.value for e in logged] == pytest.approx([h["valid_mse"] for h in record.history])
        assert {"valid_loss", "train_loss", "epoch"} <= set(scalars)
        assert events.Scalars("final/test_mse")[0].value == pytest.approx(record.test["mse"])


def test_mlflow_runs_hold_every_evaluation(tmp_path, monkeypatch, capsys):
    tracking = pytest.importorskip("mlflow.tracking")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), "--track", "mlflow"]) == 0
    assert "warning" not in capsys.readouterr().err  # MLflow's own noise stays out of the output
    client = tracking.MlflowClient(f"sqlite:///{(out / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name("rnnbench")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    for record in Store(out).records():
        run = runs[record.id]
        assert run.info.status == "FINISHED" and run.data.tags["rnnbench.status"] == "ok"
        assert run.data.params["run.lr"] == str(record.run["lr"]) and run.data.params["arch"] == record.arch
        history = client.get_metric_history(run.info.run_id, "valid_mse")
        assert [m.step for m in history] == [h["step"] for h in record.history]
        assert [m.value for m in history] == pytest.approx([h["valid_mse"] for h in record.history])
        assert run.data.metrics["final_test_mse"] == pytest.approx(record.test["mse"])


def test_a_tracker_that_is_not_installed_stops_the_run_before_any_cell(tmp_path, capsys, monkeypatch):
    from bench.trackers import TrackerSpec

    monkeypatch.setattr(TrackerSpec, "missing", lambda self: ["mlflow"])
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), "--track", "mlflow"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "rnnbench: error: --track mlflow needs mlflow, which is not installed: pip install 'rnnbench[mlflow]'"
    ]
    assert not out.exists()
