"""The course's lesson notebooks (examples/lessons): stored without outputs, each with its
exercises and the students' copy generated from it, and executed top to bottom on a kernel
from this environment (marked ``lessons``: `make lessons` and CI run them; the default test
run checks the rest). Lesson 4 runs here without the IMDB archive, on its labelled
synthetic fallback, so that the offline path is the one CI keeps working."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

LESSONS = sorted((Path(__file__).resolve().parents[1] / "examples" / "lessons").glob("*.ipynb"))
SENTIMENT = next(path for path in LESSONS if path.stem.startswith("4_"))


def _load_exercise_maker():
    """examples/lessons/make_exercises.py, a script (examples/ is no package)."""
    path = LESSONS[0].parent / "make_exercises.py"
    spec = importlib.util.spec_from_file_location("make_exercises", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_EXERCISES = _load_exercise_maker()


@pytest.fixture
def no_imdb(tmp_path, monkeypatch):
    """No IMDB archive to be found (the kernel inherits the environment)."""
    monkeypatch.delenv("RNNBENCH_DATA", raising=False)
    monkeypatch.setenv("RNNBENCH_CACHE", str(tmp_path / "empty-cache"))


def execute(path: Path, folder: Path):
    """The notebook after running it in ``folder``; CellExecutionError on a failing cell."""
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook


def printed(notebook) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lessons_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code), (
        f"{path.name} holds outputs: clear them (figures are produced when it runs)"
    )
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_has_exercises_and_the_students_copy_is_generated_from_it(path):
    """Each lesson asks at least three exercises ("**Exercise N.M"), its solutions marked; the
    students' copy (examples/lessons/exercises/) is make_exercises.py's output, solutions out."""
    lesson = nbformat.read(path, as_version=4)
    asked = {m for cell in lesson.cells for m in re.findall(r"\*\*Exercise (\d+\.\d+)", cell.source)}
    assert len(asked) >= 3, f"{path.name} asks {sorted(asked)}: a lesson asks at least three exercises"
    assert any("# BEGIN SOLUTION" in cell.source for cell in lesson.cells)
    students = MAKE_EXERCISES.EXERCISES / path.name
    assert students.exists(), f"run: python examples/lessons/make_exercises.py ({students.name} is missing)"
    generated = [cell.source for cell in MAKE_EXERCISES.exercise_notebook(path).cells]
    assert [cell.source for cell in nbformat.read(students, as_version=4).cells] == generated, (
        f"{students} is stale: run python examples/lessons/make_exercises.py"
    )
    assert not any("SOLUTION" in source for source in generated)


@pytest.mark.lessons
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_top_to_bottom(path, tmp_path, no_imdb):
    notebook = execute(path, tmp_path)  # every exercise's check and every claim's assert passes
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "every lesson shows at least one figure"
    assert "not done yet" not in printed(notebook), "the lessons hold every solution"
    if path == SENTIMENT:  # offline: it says how to get the reviews, and that it runs on a stand-in
        assert "rnnbench data imdb" in printed(notebook)
        assert "OFFLINE FALLBACK: SYNTHETIC REVIEWS, NOT IMDB" in printed(notebook)
