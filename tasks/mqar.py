"""Built-in task plugin `mqar` (the task is defined in tasks/memory.py)."""

from bench import Task, hookimpl
from tasks.memory import MQARTask


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [MQARTask()]
