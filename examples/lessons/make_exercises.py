"""Write the students' notebooks (examples/lessons/exercises/) from the lessons, which hold
the solutions: every block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes
``# YOUR CODE HERE`` and ``...``, so the function returns None and the check after it says
"not done yet" instead of failing. Run it after editing a lesson (a test keeps them equal):

    python examples/lessons/make_exercises.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

LESSONS = Path(__file__).resolve().parent
EXERCISES = LESSONS / "exercises"
SOLUTION = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n", re.S | re.M)


def strip_solutions(source: str) -> str:
    """A code cell's source with each solution block replaced by a stub at its indentation."""
    return SOLUTION.sub(lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}...\n", source)


def exercise_notebook(lesson: Path) -> nbformat.NotebookNode:
    """The students' version of one lesson."""
    notebook = nbformat.read(lesson, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
    return notebook


def main() -> int:
    EXERCISES.mkdir(exist_ok=True)
    for lesson in sorted(LESSONS.glob("*.ipynb")):
        nbformat.write(exercise_notebook(lesson), EXERCISES / lesson.name)
        print(f"wrote {(EXERCISES / lesson.name).relative_to(LESSONS.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
