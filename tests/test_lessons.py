"""The course's lesson notebooks (examples/lessons): stored without outputs, and executed top
to bottom on a kernel from this environment (marked ``lessons``: `make lessons` and CI run
them; the default test run only checks that they are stored clean). Lesson 4 reads IMDB: it
runs here on a small generated archive in the official layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.imdb_fixtures import generated_reviews, independent_vocabulary_size, make_archive

nbformat = pytest.importorskip("nbformat")

LESSONS = sorted((Path(__file__).resolve().parents[1] / "examples" / "lessons").glob("*.ipynb"))
SENTIMENT = next(path for path in LESSONS if path.stem.startswith("4_"))


@pytest.fixture
def private_data(tmp_path, monkeypatch):
    """A generated IMDB archive as $RNNBENCH_DATA (the kernel inherits the environment)."""
    archive = make_archive(tmp_path / "aclImdb_v1.tar.gz", generated_reviews(per_class=100))
    monkeypatch.setenv("RNNBENCH_DATA", str(archive))
    monkeypatch.setenv("RNNBENCH_CACHE", str(tmp_path / "cache"))
    return archive


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


@pytest.mark.lessons
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_top_to_bottom(path, tmp_path, private_data):
    notebook = execute(path, tmp_path)
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "every lesson shows at least one figure"
    if path == SENTIMENT:  # the seed lesson's "Vocabulary size: N", as torchtext counts it
        found = re.search(r"Vocabulary size: (\d+)", printed(notebook))
        assert found and int(found.group(1)) == independent_vocabulary_size(private_data)


@pytest.mark.lessons
def test_the_imdb_lesson_without_data_says_how_to_get_it_and_stops(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("RNNBENCH_DATA", raising=False)
    monkeypatch.setenv("RNNBENCH_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(nbclient.exceptions.CellExecutionError) as stopped:
        execute(SENTIMENT, tmp_path)
    assert stopped.value.ename == "SystemExit"  # a message, not a traceback from deep inside
    assert "rnnbench data imdb" in str(stopped.value) and "RNNBENCH_DATA" in str(stopped.value)
