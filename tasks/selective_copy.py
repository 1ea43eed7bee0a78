"""Built-in task plugin `selective_copy` (the task is defined in tasks/memory.py)."""

from bench import Task, hookimpl
from tasks.memory import SelectiveCopyTask


@hookimpl
def rnnbench_register_tasks() -> list[Task]:
    return [SelectiveCopyTask()]
