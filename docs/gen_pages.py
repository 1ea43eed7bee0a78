"""Pages written when the site is built (mkdocs-gen-files), from the code and the repository,
never by hand: the reference (command line, run settings, every registered plugin, the
encoder checks), the lessons as pages, and the changelog."""

from __future__ import annotations

import json
from pathlib import Path

import mkdocs_gen_files

import bench
from bench.checks import checks_markdown
from bench.cli import build_parser
from bench.reference import architectures_markdown, cli_markdown, plugins_markdown, settings_markdown, tasks_markdown

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "examples" / "lessons"
FIGURES = ROOT / "docs" / "figures" / "lessons"


def api_markdown() -> str:
    """One mkdocstrings entry per name `bench` exports, at the module that defines it."""
    lines = [
        "# Python API",
        "",
        "Everything `bench` exports (`bench.__all__`): what a plugin or a script needs, and all "
        "that plugins may import. Written from the docstrings when the site is built; a test "
        "checks that every name has one.",
        "",
    ]
    for name in bench.__all__:
        module = bench.public_module(name)
        lines += [f"::: {module}.{name}", "    options:", "      show_root_full_path: false", ""]
    return "\n".join(lines)


PAGES = {
    "reference/api.md": api_markdown,
    "reference/cli.md": lambda: cli_markdown(build_parser()),
    "reference/settings.md": settings_markdown,
    "reference/architectures.md": architectures_markdown,
    "reference/tasks.md": tasks_markdown,
    "reference/plugins.md": plugins_markdown,
    "reference/checks.md": lambda: (
        "# The encoder checks\n\n`rnnbench check` runs these, in this order "
        "(written from `bench/checks.py` when the site is built):\n\n" + checks_markdown() + "\n"
    ),
    "changelog.md": lambda: (ROOT / "CHANGELOG.md").read_text(),
}


def lesson_markdown(notebook: Path) -> str:
    """A lesson notebook as a page: its text, its code, and the figures it draws (from the
    run recorded in docs/figures/lessons). The notebook itself is what students run."""
    cells = json.loads(notebook.read_text())["cells"]
    run_it = (
        f'!!! tip "Run it"\n    This page is `examples/lessons/{notebook.name}` (with its solutions); the '
        f"students' copy is `examples/lessons/exercises/{notebook.name}`. Open either in Jupyter: "
        "`.venv/bin/pip install -e '.[lessons]'`, then `.venv/bin/jupyter lab examples/lessons`.\n"
    )
    lines = []
    for cell in cells:
        source = "".join(cell["source"]).rstrip()
        if cell["cell_type"] == "markdown":
            lines.append(source + "\n")
        elif source:
            lines.append(f"```python\n{source}\n```\n")
    lines.insert(1, run_it)  # after the lesson's title and introduction
    figures = sorted(FIGURES.glob(f"{notebook.name[0]}_*.png"))
    if figures:
        lines.append(
            "## Its figures\n\nFrom a run top to bottom on the 2-core development machine; "
            "[the tutorial](../tutorials/vanishing-gradient.md) names it and the run's times.\n"
        )
        lines += [f"![{figure.stem}](../figures/lessons/{figure.name})\n" for figure in figures]
    return "\n".join(lines)


for path, write in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(write())
for notebook in sorted(LESSONS.glob("*.ipynb")):
    with mkdocs_gen_files.open(f"lessons/{notebook.stem}.md", "w") as page:
        page.write(lesson_markdown(notebook))
