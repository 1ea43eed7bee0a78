"""Experiment trackers: where a cell's progress is sent while it runs, so that a long run can
be watched live (``--track tensorboard``, ``--track mlflow``).

A tracker receives a cell's start (its id and full configuration), every evaluation point
(the step and the numbers measured there), and its end (the record, as stored). Trackers are
registered through the hook ``rnnbench_register_trackers``, each as a `TrackerSpec`: a name,
a description, the Python modules it needs with the ``pip install`` that provides them, and
a factory ``factory(results_folder) -> Tracker``. They run where the cell runs (this
process, a ``--jobs`` worker or a Ray worker), so the factory is called there.

Built-in, each an optional extra:

- ``tensorboard`` (``pip install 'rnnbench[tensorboard]'``): event files in
  ``<results>/tensorboard/<cell id>/``; watch with ``tensorboard --logdir <results>/tensorboard``.
- ``mlflow`` (``pip install 'rnnbench[mlflow]'``): one MLflow run per cell in the experiment
  ``rnnbench``, in ``$MLFLOW_TRACKING_URI`` when set, else in a local store in the results
  folder (``sqlite:///<results>/mlflow.db``; ``mlflow ui --backend-store-uri`` that address).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.errors import ConfigError
from bench.hookspecs import hookimpl
from bench.plugins import collect
from bench.record import Record
from bench.registry import Registry


class Tracker(Protocol):
    """What a tracker implements; rnnbench calls these in this order for every cell."""

    def start(self, cell_id: str, config: Mapping[str, Any]) -> None:
        """A cell starts; ``config`` is its full configuration (as its record will hold it)."""

    def log(self, step: int, values: Mapping[str, float]) -> None:
        """An evaluation point: ``values`` are the numbers measured at training step ``step``."""

    def end(self, record: Record) -> None:
        """The cell ended (ok, diverged or error); ``record`` is what the store keeps."""


@dataclass(frozen=True)
class TrackerSpec:
    """A tracker as a plugin registers it.

    - ``name``: what ``--track`` takes.
    - ``description``: one line for ``rnnbench list``.
    - ``factory(results_folder) -> Tracker``: called once per cell, where the cell runs.
    - ``requires``: the modules it imports, checked before the first cell starts.
    - ``install``: what to run when they are missing (``pip install 'rnnbench[mlflow]'``).
    """

    name: str
    description: str
    factory: Callable[[Path], Tracker] = field(compare=False)
    requires: tuple[str, ...] = ()
    install: str = ""

    def missing(self) -> list[str]:
        """The required modules this Python cannot import."""
        return [module for module in self.requires if importlib.util.find_spec(module) is None]


def trackers() -> Registry[TrackerSpec]:
    """Every registered tracker, by name."""
    return collect("rnnbench_register_trackers", "tracker", TrackerSpec)


def check_trackers(names: Iterable[str]) -> list[TrackerSpec]:
    """The trackers called ``names``, each usable here; else one ConfigError that says what to install."""
    registry = trackers()
    chosen = [registry.get(name) for name in dict.fromkeys(names)]
    for spec in chosen:
        missing = spec.missing()
        if missing:
            raise ConfigError(
                f"--track {spec.name} needs {', '.join(missing)}, which is not installed: "
                f"{spec.install or 'install it'}"
            )
    return chosen


class Fanout:
    """Several trackers as one. A tracker that raises is reported once and dropped: the
    cell goes on, and its record is stored as if nothing had been tracked."""

    def __init__(self, names: Sequence[str], folder: Path) -> None:
        registry = trackers()
        self.trackers: list[tuple[str, Tracker]] = [(name, registry.get(name).factory(folder)) for name in names]

    def start(self, cell_id: str, config: Mapping[str, Any]) -> None:
        self._each("start", cell_id, config)

    def log(self, step: int, values: Mapping[str, float]) -> None:
        self._each("log", step, values)

    def end(self, record: Record) -> None:
        self._each("end", record)

    def _each(self, method: str, *args: Any) -> None:
        for name, tracker in list(self.trackers):
            try:
                getattr(tracker, method)(*args)
            except Exception as exc:
                print(
                    f"rnnbench: warning: tracker '{name}' failed in {method}(): {type(exc).__name__}: {exc}; "
                    f"it is off for the rest of this cell",
                    file=sys.stderr,
                )
                self.trackers.remove((name, tracker))


def final_values(record: Record) -> dict[str, float]:
    """A record's end numbers for trackers: test metrics, throughput, timings (finite only)."""
    values = {f"test_{k}": v for k, v in record.test.items()}
    values.update({k: v for k, v in record.throughput.items() if v is not None})
    values.update({k: getattr(record, k) for k in ("train_seconds", "wall_seconds") if getattr(record, k) is not None})
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float) and math.isfinite(v)}


def _flat_params(config: Mapping[str, Any]) -> dict[str, str]:
    """``{"run.lr": "0.002", "arch.num_layers": "1", ...}``: a configuration as tracker parameters."""
    params = {"arch": config["arch"], "task": config["task"], "seed": config["seed"]}
    for part, prefix in (("run", "run"), ("arch_options", "arch"), ("task_options", "task")):
        params.update({f"{prefix}.{k}": v for k, v in config[part].items()})
    return {k: str(v) for k, v in params.items()}


class TensorBoardTracker:
    """Event files per cell: scalars at every evaluation point, the configuration as text."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "tensorboard"
        self.writer = None

    def start(self, cell_id: str, config: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.folder / cell_id))
        lines = "\n".join(f"| {k} | {v} |" for k, v in _flat_params(config).items())
        self.writer.add_text("config", f"| setting | value |\n|---|---|\n{lines}")

    def log(self, step: int, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()  # watched live: every point on disk as it comes

    def end(self, record: Record) -> None:
        if self.writer is None:
            return
        step = record.steps or 0
        for name, value in final_values(record).items():
            self.writer.add_scalar(f"final/{name}", value, step)
        self.writer.add_text("status", f"{record.status}{': ' + record.error if record.error else ''}")
        self.writer.close()


MLFLOW_EXPERIMENT = "rnnbench"


def mlflow_uri(folder: Path) -> str:
    """``$MLFLOW_TRACKING_URI``, else a local store in the results folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(folder / 'mlflow.db').resolve()}"


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """A library's INFO logging and deprecation warnings, kept out of rnnbench's output."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        log.setLevel(level)


class MLflowTracker:
    """One MLflow run per cell (named by its id): the configuration as parameters, metrics at
    every evaluation point, the final numbers, and the status as a tag."""

    def __init__(self, folder: Path) -> None:
        self.uri = mlflow_uri(folder)
        self.client = None
        self.run_id: str | None = None

    def start(self, cell_id: str, config: Mapping[str, Any]) -> None:
        from mlflow.tracking import MlflowClient

        with _quiet("mlflow"):  # creating a store logs its migrations; its SQL layer warns of its own deprecations
            self.client = MlflowClient(tracking_uri=self.uri)
            experiment = self.client.get_experiment_by_name(MLFLOW_EXPERIMENT)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(MLFLOW_EXPERIMENT)
            run = self.client.create_run(experiment_id, run_name=cell_id, tags={"rnnbench.cell": cell_id})
        self.run_id = run.info.run_id
        for key, value in _flat_params(config).items():
            self.client.log_param(self.run_id, key, value)

    def log(self, step: int, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if math.isfinite(value):  # MLflow stores no NaN
                self.client.log_metric(self.run_id, name, value, step=step)

    def end(self, record: Record) -> None:
        if self.run_id is None:
            return
        for name, value in final_values(record).items():
            self.client.log_metric(self.run_id, f"final_{name}", value, step=record.steps or 0)
        self.client.set_tag(self.run_id, "rnnbench.status", record.status)
        self.client.set_terminated(self.run_id, "FAILED" if record.status == "error" else "FINISHED")


@hookimpl
def rnnbench_register_trackers() -> list[TrackerSpec]:
    return [
        TrackerSpec(
            "tensorboard",
            "TensorBoard event files in <results>/tensorboard/<cell id>/ (tensorboard --logdir <results>/tensorboard)",
            TensorBoardTracker,
            requires=("tensorboard",),
            install="pip install 'rnnbench[tensorboard]'",
        ),
        TrackerSpec(
            "mlflow",
            "an MLflow run per cell: $MLFLOW_TRACKING_URI, else sqlite:///<results>/mlflow.db",
            MLflowTracker,
            requires=("mlflow", "sqlalchemy"),
            install="pip install 'rnnbench[mlflow]'",
        ),
    ]
