"""The Ray executor on a local Ray instance produces the records the local executor does
(skipped when Ray is not installed: pip install 'rnnbench[ray]')."""

from __future__ import annotations

import pytest

from bench.executors import LocalExecutor, executor
from bench.planner import expand
from bench.store import Store
from bench.suite import run_cells
from tests.helpers import untimed

ray = pytest.importorskip("ray")
SETTINGS = {
    "threads": 1,
    "max_steps": 4,
    "eval_every": 2,
    "T": 6,
    "train_size": 64,
    "valid_size": 32,
    "test_size": 32,
    "hidden_size": 8,
}
COMPARED = ("status", "test", "valid", "best_step", "history", "params", "chance", "solved")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow  # Ray starts its workers: `make test-slow`
def test_ray_and_local_executors_store_the_same_results(tmp_path, local_ray):
    cells = expand(["rnn", "gru"], ["adding"], [0, 1], SETTINGS)
    run_cells(cells, Store(tmp_path / "local"), executor=LocalExecutor())
    counts = run_cells(cells, Store(tmp_path / "ray"), executor=executor("ray"))
    assert counts["ok"] == 4
    local = {r.id: r.to_json() for r in Store(tmp_path / "local").records()}
    remote = {r.id: r.to_json() for r in Store(tmp_path / "ray").records()}
    assert set(local) == set(remote)
    for cell_id, record in local.items():
        for key in COMPARED:
            assert untimed(remote[cell_id][key]) == untimed(record[key]), (cell_id, key)
