"""Benchmarks record the machine they ran on next to their numbers."""

from __future__ import annotations

import platform

import torch

from bench.environment import cpu_count, git_commit


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["cpu_count"] = cpu_count()
    machine_info["cuda"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    machine_info["rnnbench_commit"] = git_commit()
    machine_info["python_build"] = platform.python_build()
