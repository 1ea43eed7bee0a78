"""Where cells run. Every executor runs `bench.runner.execute` on each cell and yields its
record as soon as it ends; the suite stores it at once.

Executors are registered through the hook ``rnnbench_register_executors`` as `ExecutorSpec`
objects (``--executor NAME`` takes their names); rnnbench's own are registered here, as an
internal plugin:

- ``local`` (the default): on this machine, with no extra dependency. ``jobs=1`` runs one
  cell after another in this process, consecutive cells sharing their prepared data;
  ``jobs=N`` runs N cells at once, each in a worker process of its own (a process pool,
  not Ray: nothing to install, a second to start, and a killed run leaves no daemon
  behind), the machine's cores split between them (``threads`` per cell = cores // N).
- ``ray``: each cell is a Ray task asking for its CPU threads (and a GPU when the cell's
  device is CUDA), on a local Ray instance or an existing cluster (``address``). Install
  with ``pip install 'rnnbench[ray]'``.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import dataclasses
import ipaddress
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.cell import Cell
from bench.environment import cpu_count
from bench.errors import ConfigError, RnnbenchError
from bench.hookspecs import hookimpl
from bench.plugins import collect
from bench.record import Record
from bench.registry import Registry
from bench.runner import execute
from bench.task import Task, TaskData
from bench.trackers import check_trackers


@dataclass(frozen=True)
class ExecutorOptions:
    """What the command line (or `bench.run`) asks of an executor."""

    address: str | None = None  # --address: an existing cluster (Ray)
    jobs: int = 1  # --jobs: cells at once on this machine
    track: tuple[str, ...] = ()  # --track: trackers that follow each cell, where it runs
    folder: Path = field(default_factory=lambda: Path("."))  # the results folder (trackers write there)


class Executor(Protocol):
    """What an executor implements."""

    name: str

    def check(self, cells: list[Cell]) -> None:
        """Raise a ConfigError for what this executor cannot honour, before any cell runs."""

    def run(self, cells: list[Cell], progress: bool = False) -> Iterator[Record]:
        """Run every cell; yield each record as its cell ends (in any order)."""


@dataclass(frozen=True)
class ExecutorSpec:
    """An executor as a plugin registers it: ``factory(options)`` builds it, and raises a
    ConfigError for an option it does not take."""

    name: str
    description: str
    factory: Callable[[ExecutorOptions], Executor] = field(compare=False)


def executors() -> Registry[ExecutorSpec]:
    """Every registered executor, by name."""
    return collect("rnnbench_register_executors", "executor", ExecutorSpec)


def executor(name: str = "local", options: ExecutorOptions | None = None) -> Executor:
    """The executor registered as ``name``, built with ``options``; the trackers it is asked
    for are checked here, before any cell runs."""
    options = options or ExecutorOptions()
    check_trackers(options.track)
    return executors().get(name).factory(options)


class DataCache:
    """Keeps the last prepared dataset: cells are ordered so that consecutive ones share it."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.data: TaskData | None = None

    def get(self, task: Task, options: dict, seed: int) -> TaskData:
        key = (task.name, tuple(sorted(options.items())), seed)
        if key != self.key:
            self.key, self.data = None, None  # free the old data before preparing the new
            self.data, self.key = task.prepare(options, seed), key
        return self.data


class LocalExecutor:
    name = "local"

    def __init__(self, options: ExecutorOptions | None = None) -> None:
        options = options or ExecutorOptions()
        if options.address:
            raise ConfigError("--address goes with --executor ray")
        if options.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {options.jobs}")
        self.options = options

    def check(self, cells: list[Cell]) -> None:
        """Settings this machine cannot honour, before any cell runs."""
        cores = cpu_count()
        jobs = self.options.jobs
        if jobs > cores:
            raise ConfigError(f"--jobs {jobs} runs more cells at once than the {cores} core(s) this process may use")
        share = cores // jobs
        asked = sorted({cell.run.threads for cell in cells if cell.run.threads > share})
        if asked:
            per = f" each of --jobs {jobs} cells at once" if jobs > 1 else ""
            raise ConfigError(
                f"threads={asked[-1]} asks for more CPU threads than the {share} core(s){per} may use of {cores}; "
                f"oversubscribed threads slow training many times over. Use threads=0 (its share) or at most {share}."
            )

    def run(self, cells: list[Cell], progress: bool = False) -> Iterator[Record]:
        if self.options.jobs == 1:
            data = DataCache()
            for cell in cells:
                yield execute(cell, data.get, progress, self.options.track, self.options.folder)
            return
        yield from self._in_parallel(cells)

    def _in_parallel(self, cells: list[Cell]) -> Iterator[Record]:
        threads = cpu_count() // self.options.jobs
        # spawn, not fork: a forked child inherits torch's thread pool in an undefined state
        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(self.options.jobs, context, initializer=_worker_start)
        try:
            futures = [
                pool.submit(_execute_in_worker, _with_threads(cell, threads), self.options.track, self.options.folder)
                for cell in cells
            ]
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        except concurrent.futures.process.BrokenProcessPool:
            raise RnnbenchError(
                "a worker process died while running a cell (killed, or out of memory); the cells that ended are "
                "stored: rerun the same command to resume, with fewer --jobs if memory ran out"
            ) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _with_threads(cell: Cell, threads: int) -> Cell:
    """The cell with its share of the cores, unless it asks for a number itself."""
    return cell if cell.run.threads else dataclasses.replace(cell, run=dataclasses.replace(cell.run, threads=threads))


_worker_data: DataCache | None = None  # a worker process's last prepared dataset


def _worker_start() -> None:
    """A worker dies with the process that started it (Linux), so that a killed run leaves no
    cell running; Ctrl-C reaches the parent, which stops the pool."""
    global _worker_data
    _worker_data = DataCache()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _execute_in_worker(cell: Cell, track: tuple[str, ...], folder: Path) -> Record:
    # A worker imports this module to run it, and with it `bench`, which flushes denormals
    # before torch starts its threads there too.
    return execute(cell, _worker_data.get, False, track, folder)


CONNECT_TIMEOUT_S = 10  # a cluster's head must accept a TCP connection within this


class RayExecutor:
    name = "ray"

    def __init__(self, options: ExecutorOptions | None = None) -> None:
        options = options or ExecutorOptions()
        if options.jobs != 1:
            raise ConfigError("--jobs goes with the local executor; Ray runs as many cells at once as it has CPUs")
        address = options.address
        if address:
            host, _ = host_and_port(address)  # a malformed address is one clear line now
            if _is_loopback(host):
                # Ray rewrites a loopback address to this machine's network address (and
                # advertises that one), where a head bound to loopback cannot be reached. Its
                # switch for single-machine clusters keeps loopback as it is; it is read when
                # Ray is imported, so it is set before, and on the loaded module if Ray is in
                # already.
                os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
                constants = sys.modules.get("ray._private.ray_constants")
                if constants is not None:
                    constants.ENABLE_RAY_CLUSTER = False
        try:
            import ray
        except ImportError:
            raise ConfigError("the Ray executor needs Ray: pip install 'rnnbench[ray]'") from None
        self.ray = ray
        self.options = options
        self.address = address

    def check(self, cells: list[Cell]) -> None:
        """Nothing to check here: the cluster's nodes, not this machine, run the cells."""

    def run(self, cells: list[Cell], progress: bool = False) -> Iterator[Record]:
        ray = self.ray
        if not ray.is_initialized():
            # local: a Ray instance on this machine; otherwise join the cluster at the address
            if self.address:
                self._check_reachable()
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as exc:
                raise RnnbenchError(
                    f"cannot join the Ray cluster at {self.address}: {str(exc).splitlines()[0]}. The head answers "
                    f"but refused or lost this client: check that this machine runs the head's Ray version and "
                    f"its token authentication (Ray >= 2.59 turns it on: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN "
                    f"to what `ray get-auth-token` prints on the head)."
                ) from None
        remote = ray.remote(_execute_remote)
        pending = {}
        for cell in cells:
            threads = cell.run.threads or 1  # a Ray task gets one CPU unless told otherwise
            gpus = 1 if cell.run.device.startswith("cuda") else 0
            # threads are fixed before the cell runs, so that no worker uses more than it asked for
            task = remote.options(num_cpus=threads, num_gpus=gpus)
            pending[task.remote(_with_threads(cell, threads), self.options.track, self.options.folder)] = cell
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            pending.pop(done[0])
            yield ray.get(done[0])

    def _check_reachable(self) -> None:
        """A head that is not there is one clear line now, not minutes of Ray's retries."""
        host, port = host_and_port(self.address)
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise RnnbenchError(
                f"cannot reach the Ray cluster at {self.address}: {reason}. Check that its head is running there "
                f"(`ray start --head --port=PORT` on the head; `ray status --address {self.address}`) and that "
                f"--address is HOST:PORT of the head's GCS port."
            ) from None


def host_and_port(address: str) -> tuple[str, int]:
    """``"ray://[::1]:6379"`` -> ``("::1", 6379)``; a ConfigError for anything not HOST:PORT."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"--address {address!r}: expected HOST:PORT of a Ray head, with PORT in 1-65535, for example "
            f"--address 10.0.0.5:6379"
        )
    return host, int(port)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _execute_remote(cell: Cell, track: tuple[str, ...], folder: Path) -> Record:
    # A worker imports this module to run it, and with it `bench`, which flushes denormals
    # before torch starts its threads there too.
    return execute(cell, track=track, folder=folder)


@hookimpl
def rnnbench_register_executors() -> list[ExecutorSpec]:
    return [
        ExecutorSpec("local", "this machine: one cell after another, or --jobs N cells at once", LocalExecutor),
        ExecutorSpec(
            "ray", "Ray tasks, on a local Ray or a cluster (--address); pip install 'rnnbench[ray]'", RayExecutor
        ),
    ]
