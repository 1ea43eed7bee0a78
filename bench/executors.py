"""Where cells run. Both executors run the same `execute` on each cell and yield its record
as soon as it ends; the suite stores it at once.

- `LocalExecutor` (the default): in this process, one cell after another, no extra
  dependency; consecutive cells share their prepared data.
- `RayExecutor`: each cell is a Ray task asking for its CPU threads (and a GPU when the
  cell's device is CUDA), on a local Ray instance or an existing cluster (``address``).
  Install with ``pip install rnnbench[ray]``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import sys
import traceback
from collections.abc import Iterator
from typing import Any

from bench.config import Cell
from bench.environment import cpu_count
from bench.errors import ConfigError, DataError, RnnbenchError
from bench.plugins import tasks
from bench.runner import DataSource, prepare_data, run_cell
from bench.task import Task, TaskData


def execute(cell: Cell, data_source: DataSource = prepare_data, progress: bool = False) -> dict[str, Any]:
    """One cell's record. A plugin's bug or a numerical failure becomes a record with status
    "error"; wrong input (ConfigError, DataError) is raised: every other cell would fail too."""
    try:
        return run_cell(cell, data_source=data_source, progress=progress)
    except (ConfigError, DataError):
        raise
    except Exception as exc:
        return {
            "id": cell.id,
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "arch": cell.arch,
            "task": cell.task,
            "seed": cell.seed,
            "config": cell.config(),
            "length_option": tasks().get(cell.task).length_option,
        }


class LocalExecutor:
    name = "local"

    def check(self, cells: list[Cell]) -> None:
        """Settings this machine cannot honour, before any cell runs."""
        cores = cpu_count()
        asked = sorted({cell.run.threads for cell in cells if cell.run.threads > cores})
        if asked:
            raise ConfigError(
                f"threads={asked[-1]} asks for more CPU threads than the {cores} core(s) this process may use; "
                f"oversubscribed threads slow training many times over. Use threads=0 (all of them) or at most {cores}."
            )

    def run(self, cells: list[Cell], progress: bool = False) -> Iterator[dict[str, Any]]:
        data = DataCache()
        for cell in cells:
            yield execute(cell, data_source=data.get, progress=progress)


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


CONNECT_TIMEOUT_S = 10  # a cluster's head must accept a TCP connection within this


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        if address and _is_loopback(address):
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
        self.address = address

    def check(self, cells: list[Cell]) -> None:
        """Nothing to check here: the cluster's nodes, not this machine, run the cells."""

    def run(self, cells: list[Cell], progress: bool = False) -> Iterator[dict[str, Any]]:
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
            pending[remote.options(num_cpus=threads, num_gpus=gpus).remote(cell, threads)] = cell
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            pending.pop(done[0])
            yield ray.get(done[0])

    def _check_reachable(self) -> None:
        """A head that is not there is one clear line now, not minutes of Ray's retries."""
        host, port = _host_and_port(self.address)
        try:
            with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
                pass
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise RnnbenchError(
                f"cannot reach the Ray cluster at {self.address}: {reason}. Check that its head is running there "
                f"(`ray start --head --port=PORT` on the head; `ray status --address {self.address}`) and that "
                f"--address is HOST:PORT of the head's GCS port."
            ) from None


def _host_and_port(address: str) -> tuple[str, str]:
    """``"ray://[::1]:6379"`` -> ``("::1", "6379")``."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return host.strip("[]"), port


def _is_loopback(address: str) -> bool:
    host = _host_and_port(address)[0]
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _execute_remote(cell: Cell, threads: int) -> dict[str, Any]:
    # A worker imports this module to run it, and with it `bench`, which flushes denormals
    # before torch starts its threads there too.
    return execute(dataclasses.replace(cell, run=dataclasses.replace(cell.run, threads=threads)))


def executor(name: str, address: str | None = None) -> LocalExecutor | RayExecutor:
    if name == "local":
        if address:
            raise ConfigError("--address goes with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise ConfigError(f"unknown executor '{name}': use local or ray")
