"""Run one cell: prepare data, build the model, train, validate, test, measure; build its record.

A loss or gradient that becomes NaN/inf ends training with status "diverged": a result,
reported like any other. A plugin's bug or another exception inside the cell becomes a
record with status "error" (`execute`). A probe that fails is named in the record's
``probe_errors``; the cell goes on.
"""

from __future__ import annotations

import datetime
import math
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bench import faults
from bench.architecture import param_groups_method
from bench.batching import Batch, batch_order, first_sequences, iterate_batches, padding_fraction
from bench.budget import count_parameters
from bench.cell import Cell
from bench.environment import cpu_count, environment, resolve_device
from bench.errors import ConfigError, DataError, PluginError
from bench.meter import Stopwatch, ThroughputMeter, peak_memory_mb
from bench.model import SequenceModel, build_model
from bench.plugins import architectures, source, tasks
from bench.probe import Probe, ProbeContext, probes
from bench.record import Record
from bench.task import SequenceSet, Task, TaskData
from bench.trackers import Fanout, Tracker

# Called with (task, options, seed) for the data of a cell; lets a suite reuse data across cells.
DataSource = Callable[[Task, dict, int], TaskData]


def precision_context(device: torch.device, precision: str) -> torch.autocast:
    """What the ``precision`` setting means for a forward pass: "bf16" runs it under
    bfloat16 autocast on ``device``; "fp32" leaves it alone."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def prepare_data(task: Task, options: dict, seed: int) -> TaskData:
    return task.prepare(options, seed)


def execute(
    cell: Cell,
    data_source: DataSource = prepare_data,
    progress: bool = False,
    track: tuple[str, ...] = (),
    folder: Path | None = None,
) -> Record:
    """One cell's record. A plugin's bug or a numerical failure becomes a record with status
    "error"; wrong input (ConfigError, DataError) is raised: every other cell would fail too.
    ``track``: the trackers (by name) that follow the cell, writing under ``folder``."""
    tracker = Fanout(track, folder or Path(".")) if track else None
    if tracker is not None:
        tracker.start(cell.id, cell.config())
    try:
        record = run_cell(cell, data_source=data_source, progress=progress, tracker=tracker)
    except (ConfigError, DataError):
        raise
    except Exception as exc:
        record = failed_record(cell, exc)
    if tracker is not None:
        tracker.end(record)
    return record


def run_cell(
    cell: Cell, data_source: DataSource = prepare_data, progress: bool = False, tracker: Tracker | None = None
) -> Record:
    """Train and evaluate one cell; return its record."""
    started = time.perf_counter()
    arch, task = architectures().get(cell.arch), tasks().get(cell.task)
    run = cell.run
    device = resolve_device(run.device)
    threads = run.threads or cpu_count()
    torch.set_num_threads(threads)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    data = data_source(task, dict(cell.task_options), cell.seed)
    torch.manual_seed(cell.seed)
    model = build_model(task, arch, data, cell).to(device)
    trainer = Trainer(model, task, data, cell, device, progress, tracker)
    trainer.train()
    test = trainer.evaluate_best(data.test)
    # length generalisation: the same weights on test data generated at other lengths
    test_at_length = {
        str(length): trainer.evaluate(task.prepare({**cell.task_options, task.length_option: length}, cell.seed).test)
        for length in run.eval_length_values()
    }
    return Record(
        **described(cell, task),
        status=trainer.status,
        error=trainer.error,
        chance=task.chance(data),
        solved=task.is_solved(test.get(task.metric, math.nan)),
        test=test,
        test_at_length=test_at_length,
        valid=trainer.best_valid,
        best_step=trainer.best_step,
        steps=trainer.step,
        history=trainer.history,
        probes=trainer.probed,
        probe_errors=trainer.probe_errors,
        throughput={
            **trainer.train_meter.summary("train"),
            **trainer.eval_meter.summary("eval"),
            "peak_memory_mb": peak_memory_mb(device),
        },
        params=count_parameters(model),
        encoder_params=count_parameters(model.encoder),
        state_size=getattr(model.encoder, "state_size", None),
        data={
            **data.info,
            "train_size": len(data.train),
            "valid_size": len(data.valid),
            "test_size": len(data.test),
            # the training batches of the first epoch: shuffled length buckets, as trained on
            "train_padding": padding_fraction(
                data.train.lengths,
                batch_order(data.train.lengths, run.batch_size, torch.Generator().manual_seed(cell.seed)),
            ),
        },
        train_seconds=trainer.train_seconds,
        probe_seconds=trainer.probe_seconds,
        eval_seconds=trainer.eval_seconds,
        wall_seconds=time.perf_counter() - started,
        environment=environment(device, threads),
    )


def failed_record(cell: Cell, exc: BaseException) -> Record:
    """The record of a cell that raised: what happened, where, and the cell's configuration."""
    return Record(
        **described(cell, tasks().get(cell.task)),
        status="error",
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def described(cell: Cell, task: Task) -> dict[str, Any]:
    """What every record of a cell says, whatever became of it: the cell, the plugins it
    came from, what its task declares, how it was planned, and when it ended."""
    return {
        "id": cell.id,
        "arch": cell.arch,
        "task": cell.task,
        "seed": cell.seed,
        "config": cell.config(),
        "plugins": {
            "arch": source(architectures().plugin_of(cell.arch)),
            "task": source(tasks().plugin_of(cell.task)),
        },
        "metrics": task.metric_declarations,
        "length_option": task.length_option,
        "solved_threshold": task.solved_threshold,
        "tuned": list(cell.tuned),
        "match": cell.match,
        "confirmation": cell.confirmation,
        "seeded_data": task.seeded_data,
        "finished": now(),
    }


GROUP_KEYS = {"params", "lr_scale", "weight_decay"}


def optimiser_groups(model: SequenceModel, run: Any) -> list[dict[str, Any]]:
    """AdamW's parameter groups: the encoder's declared ones (`param_groups()`: a learning
    rate scaled from the run's, their own weight decay), and every other parameter at the
    run's settings."""
    method = param_groups_method(model.encoder)
    declared = method() if method is not None else []
    groups, seen = [], set()
    for group in declared:
        unknown = set(group) - GROUP_KEYS
        params = list(group.get("params", []))
        if unknown or not params:
            raise PluginError(
                f"{type(model.encoder).__name__}.param_groups(): each group is {{'params': [...], 'lr_scale': x, "
                f"'weight_decay': y}}; got keys {sorted(group)}"
            )
        if any(id(p) in seen for p in params):
            raise PluginError(f"{type(model.encoder).__name__}.param_groups(): a parameter is in two groups")
        seen |= {id(p) for p in params}
        groups.append(
            {
                "params": params,
                "lr": run.lr * float(group.get("lr_scale", 1.0)),
                "weight_decay": float(group.get("weight_decay", run.weight_decay)),
            }
        )
    rest = [p for p in model.parameters() if id(p) not in seen]
    return [{"params": rest, "lr": run.lr, "weight_decay": run.weight_decay}, *groups]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class Trainer:
    """The training loop of one cell and what it measures along the way."""

    def __init__(
        self,
        model: SequenceModel,
        task: Task,
        data: TaskData,
        cell: Cell,
        device: torch.device,
        progress: bool,
        tracker: Tracker | None = None,
    ) -> None:
        self.model, self.task, self.data, self.cell, self.device = model, task, data, cell, device
        self.run = cell.run
        self.progress = progress
        self.tracker = tracker
        self.steps_per_epoch = math.ceil(len(data.train) / self.run.batch_size)
        self.total_steps = self.run.max_steps or self.run.epochs * self.steps_per_epoch
        self.eval_every = self.run.eval_every or self.steps_per_epoch
        self.optimizer = torch.optim.AdamW(optimiser_groups(model, self.run))
        self.scheduler = (
            torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step / self.total_steps, 1.0)))
            )
            if self.run.schedule == "cosine"
            else None
        )
        self.step = 0
        self.status, self.error = "ok", None
        self.history: list[dict[str, Any]] = []
        self.best_valid: dict[str, float] = {}
        self.best_step: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.train_meter = ThroughputMeter(warmup=self.run.warmup_steps)
        self.eval_meter = ThroughputMeter(warmup=1)
        self.train_seconds = 0.0
        self.probe_seconds = 0.0  # every probe, outside train_seconds
        self.eval_seconds = 0.0  # whole evaluation passes (batching and scoring included)
        self.probes: list[Probe] = [probe for _, probe, _ in probes()]
        self.probed: dict[str, list[dict[str, Any]]] = {probe.key: [] for probe in self.probes}
        self.probe_errors: dict[str, str] = {}
        self.probe_batch = first_sequences(data.valid, self.run.probe_batch)
        self.probe_steps = _spread(self.total_steps, self.run.probe_points)

    def train(self) -> None:
        generator = torch.Generator().manual_seed(self.cell.seed)
        self._probe("init")
        self._validate(train_loss=math.nan)
        bar = tqdm(total=self.total_steps, desc=self.cell.id, leave=False, disable=not self.progress)
        loss_sum, loss_count = 0.0, 0
        while self.step < self.total_steps and self.status == "ok":
            for batch in iterate_batches(self.data.train, self.run.batch_size, generator):
                loss, norm = self._train_step(batch.to(self.device))
                bar.update(1)
                faults.reach("step")
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    self.status = "diverged"
                    what = f"loss became {loss}" if not math.isfinite(loss) else f"gradient norm became {norm}"
                    self.error = f"{what} at step {self.step}"
                    break
                loss_sum, loss_count = loss_sum + loss, loss_count + 1
                if self.step in self.probe_steps:
                    self._probe("during")
                if self.step % self.eval_every == 0 or self.step == self.total_steps:
                    self._validate(train_loss=loss_sum / loss_count)
                    bar.set_postfix({self.task.metric: f"{self.history[-1]['valid_' + self.task.metric]:.4g}"})
                    loss_sum, loss_count = 0.0, 0
                if self.step >= self.total_steps:
                    break
        bar.close()
        self._probe("end")

    def _train_step(self, batch: Batch) -> tuple[float, float]:
        """One optimiser step (skipped when the loss or gradient is not finite); returns the
        loss and the gradient norm before clipping."""
        self.model.train()
        with Stopwatch(self.device) as watch:
            with precision_context(self.device, self.run.precision):
                output = self.model(batch.inputs, batch.lengths)
            loss = self.task.loss(output.float(), batch.targets).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(
                self.model.parameters(), self.run.clip if self.run.clip > 0 else math.inf
            )
            value, norm = loss.item(), norm.item()
            if math.isfinite(value) and math.isfinite(norm):
                self.optimizer.step()
                if self.scheduler is not None:
                    self.scheduler.step()
        self.step += 1
        self.train_seconds += watch.seconds
        self.train_meter.add(watch.seconds, batch.tokens, len(batch.lengths))
        return value, norm

    @torch.no_grad()
    def evaluate(self, split: SequenceSet) -> dict[str, float]:
        """The loss and every metric the task declares, each averaged over ``split``."""
        started = time.perf_counter()
        self.model.eval()
        sums: dict[str, float] = {}
        for batch in iterate_batches(split, self.run.batch_size):
            batch = batch.to(self.device)
            with Stopwatch(self.device) as watch, precision_context(self.device, self.run.precision):
                output = self.model(batch.inputs, batch.lengths).float()
            self.eval_meter.add(watch.seconds, batch.tokens, len(batch.lengths))
            per_sample = {"loss": self.task.loss(output, batch.targets), **self.task.scores(output, batch.targets)}
            for name, values in per_sample.items():
                sums[name] = sums.get(name, 0.0) + float(values.double().sum())
        self.eval_seconds += time.perf_counter() - started
        return {name: total / len(split) for name, total in sums.items()}

    def _validate(self, train_loss: float) -> None:
        valid = self.evaluate(self.data.valid)
        value = valid[self.task.metric]
        point = {
            "step": self.step,
            "epoch": self.step / self.steps_per_epoch,
            "train_loss": train_loss,
            "valid_loss": valid["loss"],
            **{f"valid_{name}": valid[name] for name in valid if name != "loss"},
            "train_seconds": self.train_seconds,
        }
        self.history.append(point)
        if self.tracker is not None:
            self.tracker.log(self.step, _finite_numbers(point))
        best = self.best_valid.get(self.task.metric)
        if math.isfinite(value) and (best is None or self.task.headline.better(value, best)):
            self.best_valid, self.best_step = valid, self.step
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def evaluate_best(self, split: SequenceSet) -> dict[str, float]:
        """Test with the best-validation weights (the initial ones if nothing was better)."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.evaluate(split)

    def _probe(self, moment: str) -> None:
        """Every probe that runs at ``moment``; a probe that raises is recorded and not run again."""
        context = ProbeContext(
            model=self.model,
            task=self.task,
            data=self.data,
            batch=self.probe_batch.to(self.device),
            step=self.step,
            seed=self.cell.seed,
            run=self.run,
            arch_options=dict(self.cell.arch_options),
            device=self.device,
        )
        for probe in self.probes:
            if moment not in probe.when or probe.name in self.probe_errors:
                continue
            started = time.perf_counter()
            try:
                measured = probe.measure(context)
            except Exception as exc:
                self.probe_errors[probe.name] = f"{type(exc).__name__}: {exc} (at step {self.step})"
                measured = None
            if measured is not None:
                self.probed[probe.key].append({"step": self.step, **measured})
            self.probe_seconds += time.perf_counter() - started


def _finite_numbers(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float) and k != "step" and math.isfinite(v)}


def _spread(total: int, points: int) -> set[int]:
    """``points`` training steps spread evenly over ``total``, the last one included."""
    return {round(total * (i + 1) / points) for i in range(points)} if points else set()
