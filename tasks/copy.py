"""Built-in task plugin `copy` (the task is defined in tasks/memory.py)."""

from bench import Task, hookimpl
from tasks.memory import CopyTask


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [CopyTask()]
