"""``ganbench report`` on stores built here run by run: no runs, one run, several protocols, a browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from PIL import Image

from ganbench.api import report
from ganbench.cli import cli
from ganbench.errors import ConfigError
from ganbench.tracking.leaderboard import load_leaderboards
from ganbench.tracking.ui import report_pages
from tests.conftest import REPO, ganbench_command, plugin_env
from tests.ganbench.tracking.test_leaderboard import OTHER_PROTOCOL, PROTOCOL, Store

ARTIFACTS = REPO / "results" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    monkeypatch.chdir(tmp_path)  # MLflow keeps a SQLite store's artifacts under ./mlruns
    return Store(tmp_path)


def add_trained_run(store: Store, tmp_path, model: str, loss: str, values, **kwargs) -> str:
    """A run as training leaves it: the metric at each evaluation, losses, a sample grid per evaluation and its
    config file."""
    run_id = store.add(model, loss, values, **kwargs)
    for step in range(1, 5):
        store.client.log_metric(run_id, "loss_d", 1.0 / step, step=step * 125)
        store.client.log_metric(run_id, "loss_g", 2.0 - 0.1 * step, step=step * 125)
    grids = tmp_path / f"grids-{run_id}"
    grids.mkdir()
    for step in range(1, len(values) + 1):
        Image.new("RGB", (16, 16), (40 * step, 0, 0)).save(grids / f"step_{step * 250:07d}.png")
    store.client.log_artifacts(run_id, str(grids), "samples")
    config = tmp_path / f"config-{run_id}.yaml"
    config.write_text(f"model: {model}\nloss: {loss}\nsteps: 1000\n")
    store.client.log_artifact(run_id, str(config))  # logged as config-<id>.yaml: a run without config.yaml
    return run_id


def test_a_store_with_no_runs_gets_a_clear_message_and_a_non_zero_exit(tmp_path):
    result = subprocess.run(
        [*ganbench_command(), "report", "--results-dir", str(tmp_path / "results")],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Nothing to report: No run in" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "results" / "reports").exists()


def test_one_run_gives_a_whole_report_that_says_what_it_cannot_compare(store, tmp_path, registry):
    run_id = add_trained_run(store, tmp_path, "dcgan", "bce", (60.0, 45.0, 50.0))
    written = report("shapes", metric="fid", tracking_uri=store.uri, out=tmp_path / "out", registry=registry)
    text = written.markdown.read_text()
    assert f"protocol `{PROTOCOL}`" in text and "| 1 | 1 | dcgan | bce | 45 |" in text
    assert "One model: nothing to compare." in text
    assert "### Budget curves\n\nNone: no run here is a search's trial" in text
    assert "Each model's best run at step 750, the latest step all of them have samples of." in text
    assert f"ganbench eval {run_id}" in text and "| dcgan/bce | cpu |" in text
    commands = set(re.findall(r"`ganbench ([a-z-]+)", text))  # what the reader is told to type must exist
    assert {"eval", "run"} <= commands <= set(cli.commands)
    assert "steps: '1000'" in text  # the settings as logged, when the run has no config.yaml
    assert sorted(path.name for path in written.figures) == [
        "shapes-fid-1-fid.png",
        "shapes-fid-1-losses.png",
        "shapes-fid-1-samples-dcgan_bce.png",
    ]
    html = written.html.read_text()
    assert html.count('src="data:image/png;base64,') == 3 and not re.search(r'src="[^"]+\.png"', html)


def test_a_report_is_logged_to_mlflow_linked_by_the_ui_and_never_ranked(store, tmp_path, registry):
    add_trained_run(store, tmp_path, "dcgan", "bce", (60.0, 45.0))
    written = report("shapes", metric="fid", tracking_uri=store.uri, out=tmp_path / "out", registry=registry)
    logged = store.client.get_run(written.run_id)
    assert logged.data.tags["ganbench.kind"] == "report" and logged.info.status == "FINISHED"
    files = {item.path for item in store.client.list_artifacts(written.run_id, "report")}
    assert {"report/report.html", "report/report.md", "report/shapes-fid-1-fid.png"} <= files
    (board,) = load_leaderboards(store.uri, "fid", registry)
    assert board.left_out == {} and [row.model for row in board.rankings[0].rows] == ["dcgan"]
    ((what, page),) = report_pages(store.uri, "http://127.0.0.1:5000")
    assert what == "report of shapes (report-fid)"
    assert page.endswith(f"/runs/{written.run_id}/artifacts") and page.startswith(
        "http://127.0.0.1:5000/#/experiments/"
    )


def test_each_protocol_has_its_own_section_and_models_can_be_chosen(store, tmp_path, registry):
    add_trained_run(store, tmp_path, "dcgan", "bce", (40.0,))
    add_trained_run(store, tmp_path, "sngan", "hinge", (30.0, 35.0))
    add_trained_run(store, tmp_path, "sngan", "hinge", (20.0,), protocol=OTHER_PROTOCOL)
    written = report(None, metric="fid", tracking_uri=store.uri, out=tmp_path / "all", registry=registry)
    text = written.markdown.read_text()
    sections = text.split("\n## ")[1:]
    assert [section.splitlines()[0] for section in sections] == [
        f"shapes: fid, protocol `{PROTOCOL}`",
        f"shapes: fid, protocol `{OTHER_PROTOCOL}`",
    ]
    assert "| dcgan |" in sections[0] and "| dcgan |" not in sections[1]
    assert "| steps |" not in sections[0] and "None: the best runs share all" in sections[0]
    assert "Each model's best run at step 250" in sections[0]  # the latest step both have samples of
    chosen = report("shapes", metric="fid", models=["sngan"], tracking_uri=store.uri, out=tmp_path / "sngan")
    assert "| dcgan |" not in chosen.markdown.read_text()
    with pytest.raises(ConfigError, match="Nothing to report of wgan: No run in"):
        report("shapes", metric="fid", models=["wgan"], tracking_uri=store.uri, out=tmp_path / "none")


def test_budget_curves_draw_the_searched_models_and_name_the_others(store, tmp_path, registry):
    for trial, value in enumerate((40.0, 35.0, 38.0)):
        store.add("sngan", "hinge", (value,), params={"lr_g": f"{trial}e-4"}, tags={"ganbench.study": "s"})
    add_trained_run(store, tmp_path, "dcgan", "bce", (30.0,))
    written = report("shapes", metric="fid", tracking_uri=store.uri, out=tmp_path / "out", registry=registry)
    text = written.markdown.read_text()
    assert "shapes-fid-1-budget.png" in {path.name for path in written.figures}
    assert "Not in the figure, having no search trials: dcgan/bce." in text


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_html_report_renders_offline_in_headless_chromium(store, tmp_path, registry):
    for seed, value in enumerate((40.0, 42.0, 41.0, 43.0)):
        add_trained_run(store, tmp_path, "dcgan", "bce", (value + 10, value), seed=seed)
    for seed, value in enumerate((30.0, 31.0, 29.0, 32.0)):
        add_trained_run(store, tmp_path, "sngan", "hinge", (value + 5, value), seed=seed)
    written = report("shapes", metric="fid", tracking_uri=store.uri, out=tmp_path / "report", registry=registry)
    alone = tmp_path / "alone" / "report.html"  # without the pictures beside it: they are inlined
    alone.parent.mkdir()
    shutil.copy(written.html, alone)
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,3000"]
    dom = subprocess.run([*browser, "--dump-dom", alone.as_uri()], capture_output=True, text=True, timeout=180).stdout
    assert "ganbench report: fid on shapes" in dom
    assert "dcgan/bce vs sngan/hinge: apart: Mann–Whitney p = 0.029 (4 vs 4 runs)" in dom
    assert dom.count("<img") == 4  # curves, losses and two sample grids
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    subprocess.run([*browser, f"--screenshot={screenshot}", alone.as_uri()], capture_output=True, timeout=180)
    assert screenshot.read_bytes().startswith(b"\x89PNG")
