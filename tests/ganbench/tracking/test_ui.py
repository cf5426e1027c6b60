"""``ganbench ui``: the command it starts, the stores it refuses, and the real UI in headless chromium."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

import ganbench.tracking.ui as ui
from ganbench.errors import GanbenchError
from tests.conftest import REPO, ganbench_command, plugin_env

# Pictures a person checks by eye after a test run (kept out of git by results/*).
ARTIFACTS = REPO / "results" / "test-artifacts"


@pytest.fixture
def fake_popen(monkeypatch) -> list[list[str]]:
    """The argv of every server started, none of them for real."""
    started: list[list[str]] = []

    class FakeServer:
        def __init__(self, argv: list[str]) -> None:
            started.append(argv)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(ui, "subprocess", SimpleNamespace(Popen=FakeServer))
    return started


def test_the_ui_is_this_pythons_mlflow_on_the_store_bound_to_localhost():
    uri = "sqlite:////home/me/results/mlflow.db"
    assert ui.ui_argv(uri, 5001) == [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        "5001",
        "--workers",
        "1",
    ]


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////abs/results/mlflow.db", Path("/abs/results/mlflow.db")),
        ("sqlite:///results/mlflow.db", Path("results/mlflow.db")),
        ("file:///abs/mlruns", Path("/abs/mlruns")),
        ("/abs/mlruns", Path("/abs/mlruns")),
        ("http://tracking:5000", None),
        ("postgresql://user@db/mlflow", None),
    ],
)
def test_local_store_path(uri, path):
    assert ui.local_store_path(uri) == path


def test_serve_prints_the_url_then_runs_the_ui(tmp_path, fake_popen):
    store = tmp_path / "mlflow.db"
    store.touch()
    uri = f"sqlite:///{store}"
    console = Console(file=io.StringIO(), width=200)
    assert ui.serve(uri, 5002, console) == 0
    assert fake_popen == [ui.ui_argv(uri, 5002)]
    assert "http://127.0.0.1:5002" in console.file.getvalue()


def test_serve_refuses_a_store_that_does_not_exist_and_creates_none(tmp_path, fake_popen):
    missing = tmp_path / "results" / "mlflow.db"
    with pytest.raises(GanbenchError, match=f"no MLflow store at {missing}.*ganbench run"):
        ui.serve(f"sqlite:///{missing}", 5000, Console(file=io.StringIO()))
    assert fake_popen == [] and not missing.parent.exists()


def test_a_tracking_server_is_opened_not_served(fake_popen):
    console = Console(file=io.StringIO(), width=200)
    assert ui.serve("http://tracking:5000", 5000, console) == 0
    assert fake_popen == [] and "open http://tracking:5000" in console.file.getvalue()


def test_cli_ui_on_a_missing_store_is_a_one_paragraph_error(tmp_path):
    result = subprocess.run(
        [*ganbench_command(), "ui", "--results-dir", "nowhere"],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "no MLflow store at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_view_ranks_by_its_metric_best_first_and_shows_every_metric():
    views = ui.runs_views({"fid": False, "proxy-acc": True})
    assert set(views) == {"ganbench-by-fid", "ganbench-by-proxy-acc"}
    assert views["ganbench-by-fid"]["orderByKey"] == "metrics.`fid`" and views["ganbench-by-fid"]["orderByAsc"]
    by_accuracy = views["ganbench-by-proxy-acc"]
    assert by_accuracy["orderByKey"] == "metrics.`proxy_acc`" and not by_accuracy["orderByAsc"]
    assert {"metrics.`fid`", "metrics.`proxy_acc`", "tags.`model`", "tags.`loss`"} == set(
        by_accuracy["selectedColumns"]
    )


def test_views_saved_by_runs_keep_each_others_columns_and_the_ui_links_them(tmp_path):
    from ganbench.tracking.runs import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "mlartifacts")
    for metrics in ({"fid": False}, {"proxy-fid": False, "fid": False}):
        tracker.start("shapes", "run", {})
        tracker.share_views(ui.runs_views(metrics))
        tracker.end("FINISHED")
    tags = tracker.client.get_experiment(tracker.experiment_id("shapes")).tags
    fid_view = json.loads(tags[ui.SHARED_VIEW_TAG + "ganbench-by-fid"])
    assert {"metrics.`fid`", "metrics.`proxy_fid`"} <= set(fid_view["selectedColumns"])
    [(name, page)] = ui.ranked_pages(tracker.tracking_uri, "http://127.0.0.1:5000")
    assert name == "shapes by fid"
    assert page == ui.runs_page("http://127.0.0.1:5000", tracker.experiment_id("shapes"), "fid")
    assert page.endswith("/runs?viewStateShareKey=ganbench-by-fid")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the MLflow UI did not answer at {url}")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_experiment_page_lists_the_runs_with_their_fid_column_sorted_in_headless_chromium(tmp_path):
    from ganbench.tracking.runs import Tracker

    results = tmp_path / "results"
    tracker = Tracker(f"sqlite:///{results / 'mlflow.db'}", results / "mlartifacts")
    for name, fid in (("dcgan-browser", 123.4), ("wgan-browser", 98.7)):
        tracker.start("shapes", name, {"model": name.split("-")[0]})
        tracker.share_views(ui.runs_views({"fid": False, "proxy-acc": True}))
        tracker.log_metrics({"fid": fid, "proxy_acc": 0.5}, step=100)
        tracker.end("FINISHED")
    experiment = tracker.experiment_id("shapes")
    port = _free_port()
    server = subprocess.Popen(
        [*ganbench_command(), "ui", "--port", str(port), "--results-dir", str(results)],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the UI's own server processes are stopped with it
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/health", server)
        page = ui.runs_page(f"http://127.0.0.1:{port}", experiment, "fid")
        # wide enough that the runs table is not cut off by MLflow's side panels
        browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=3000,800"]
        browser += ["--virtual-time-budget=20000"]
        dom = subprocess.run([*browser, "--dump-dom", page], capture_output=True, text=True, timeout=180).stdout
        assert "Training runs" in dom, "the experiment opens on its runs, not on MLflow's GenAI pages"
        assert 0 < dom.index("wgan-browser") < dom.index("dcgan-browser"), "sorted by FID, best first"
        assert 'aria-label="Sort: fid"' in dom
        assert 'col-id="metrics.`fid`"' in dom and 'col-id="metrics.`proxy_acc`"' in dom, "metric columns shown"
        assert 'class="ag-cell-value">98.7<' in dom
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / "mlflow-ui-runs-by-fid.png"
        subprocess.run([*browser, f"--screenshot={screenshot}", page], capture_output=True, timeout=180)
        assert screenshot.stat().st_size > 10_000
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
