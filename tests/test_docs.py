"""The documentation: the site builds with --strict (broken links, missing pages and bad API references
fail), and the API tour notebook runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_README_LINES = 200


def test_the_site_builds_strictly_with_the_generated_catalogue(tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    catalogue = (site / "catalogue" / "index.html").read_text()
    for name in ("dcgan", "imagefolder", "hinge", "diffaugment", "inception-v3-compat", "proxy-acc"):
        assert f"<code>{name}</code>" in catalogue
    assert "ganbench.api.train" in (site / "api" / "index.html").read_text()


def test_the_readme_stays_short() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= MAX_README_LINES


@pytest.mark.slow
def test_the_tour_notebook_runs(tmp_path: Path) -> None:
    notebook = nbformat.read(REPO / "examples" / "tour.ipynb", as_version=4)
    where = {"metadata": {"path": str(tmp_path)}}  # the kernel's working directory
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources=where).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert (tmp_path / "results" / "tour").is_dir()  # the notebook wrote under its own folder
    assert (tmp_path / "results" / "tour" / "reports" / "shapes-kid" / "report.html").is_file()
