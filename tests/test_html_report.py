"""The self-contained HTML report and its markdown twin; rendered in headless Chromium when
Debian's chromium is installed (skipped otherwise)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bench.cli import main
from tests.helpers import TINY_RUN as TINY


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "run"
    assert (
        main(
            [
                "horizon",
                "--arch",
                "rnn",
                "lstm",
                "--task",
                "adding",
                "--T",
                "6",
                "9",
                "--seeds",
                "0",
                "1",
                "--out",
                str(out),
                "--no-progress",
                "--set",
                *TINY,
            ]
        )
        == 0
    )
    assert main(["report", str(out), "--html"]) == 0
    return out


def test_html_is_self_contained_with_every_table_and_figure(results):
    page = (results / "report.html").read_text()
    for title in ("Test metric", "Seeds that solved", "Gradient decay", "Throughput", "Environment"):
        assert title in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert {name for name, _ in images} == {p.stem for p in (results / "figures").glob("*.png")}
    assert all(len(data) > 5_000 for _, data in images)
    assert "<strong>" in page  # the best architecture of each column
    assert 'src="http' not in page and "<script" not in page  # nothing to fetch


def test_markdown_report_links_the_figures(results):
    markdown = (results / "report.md").read_text()
    assert "| arch" in markdown and "](figures/scores.png)" in markdown


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_report_renders_in_headless_chromium(results, tmp_path):
    # every image decodes: a broken one has naturalWidth 0
    script = (
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length + ' broken of ' + "
        "document.images.length + ' images, ' + document.querySelectorAll('table').length + ' tables'"
    )
    page = results / "report.html"
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text().replace(
            "</body>",
            f"<pre id='probe'></pre><script>window.onload = () => "
            f"document.getElementById('probe').textContent = {script};"
            f"</script></body>",
        )
    )
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'p'}",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    match = re.search(r"(\d+) broken of (\d+) images, (\d+) tables", dom)
    assert match, dom[-2000:]
    broken, images, tables = map(int, match.groups())
    assert broken == 0 and images >= 4 and tables >= 4
    screenshot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={screenshot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert screenshot.stat().st_size > 10_000
