"""A shared MLflow tracking server (`mlflow server`, SQL backend store, proxied artifacts): runs of several
workers land on it; a server that is down fails a run in seconds, clearly; one that goes away mid-run
keeps every checkpoint already written."""

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from ganbench import cli
from ganbench.tracking.runs import HTTP_DEFAULTS, TrackingUnavailable
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.runner import run
from tests.conftest import FAST_EXPERIMENT
from tests.support.postgres import free_port

SERVER_START = 240  # seconds; `mlflow server` answers about 35 s after it starts on these machines


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory) -> Iterator[MlflowServer]:
    """One server for the module (it is slow to start). The last test of the module stops it."""
    home = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}", "--artifacts-destination", str(home / "art")]
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    log = (home / "server.log").open("w")
    server = MlflowServer(f"http://127.0.0.1:{port}", subprocess.Popen(command, env=env, stdout=log, stderr=log))
    deadline = time.time() + SERVER_START
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        assert server.process.poll() is None, (home / "server.log").read_text()
        assert time.time() < deadline, "mlflow server did not answer"
        time.sleep(1)
    yield server
    if server.process.poll() is None:
        server.stop()
    log.close()


@pytest.fixture
def http_env(monkeypatch) -> None:
    """The MLflow HTTP settings as a user's shell leaves them (unset), restored after the test."""
    for name in HTTP_DEFAULTS:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def _worker_run(registry, flags: dict, console, **hooks) -> object:
    torch.set_num_threads(1)
    return run(registry, flags, {}, None, console, **hooks)


def test_runs_of_two_workers_land_on_one_server(registry, fast_flags, console, mlflow_server, tmp_path, http_env):
    # two "machines": their own results folders (checkpoints, caches), one tracking server
    flags = [{**fast_flags, "results_dir": str(tmp_path / m), "tracking_uri": mlflow_server.url} for m in "ab"]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda f: _worker_run(registry, f, console), flags))

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name(FAST_EXPERIMENT)
    on_server = {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}
    assert {o.run_id for o in outcomes} <= on_server.keys()
    for outcome in outcomes:
        found = on_server[outcome.run_id]
        assert found.info.status == "FINISHED"
        assert [m.step for m in client.get_metric_history(outcome.run_id, "pixel_fid")] == [6, 12]
        assert "samples/step_0000012.png" in {a.path for a in client.list_artifacts(outcome.run_id, "samples")}
        downloaded = Path(client.download_artifacts(outcome.run_id, "checkpoints/last.pt", str(tmp_path / "dl")))
        assert load_checkpoint(downloaded)["run_id"] == outcome.run_id


def test_a_server_that_is_down_fails_the_run_in_seconds_with_the_fix(
    registry, fast_flags, monkeypatch, capsys, http_env
):
    down = f"http://127.0.0.1:{free_port()}"
    args = ["ganbench", "run", "--tracking-uri", down, "--results-dir", fast_flags["results_dir"], "--steps", "4"]
    args += ["--eval-every", "2", "--batch-size", "16", "--metrics", "pixel-fid", "--eval-samples", "16"]
    args += ["--reference-samples", "16", "--dataset-option", "size=64", "--model-option", "width=8"]
    monkeypatch.setattr(cli, "default_registry", lambda: registry)  # the fast test metric, in process
    monkeypatch.setattr(sys, "argv", args)
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_code:
        cli.main()
    assert time.monotonic() - started < 60, "seconds, not MLflow's default minutes of retries"
    assert exit_code.value.code == 1
    stderr = capsys.readouterr().err
    assert f"the tracking server {down} did not answer" in stderr and "--tracking-uri" in stderr
    assert "Traceback" not in stderr


def test_a_server_that_goes_away_mid_run_keeps_the_checkpoint_and_says_how_to_resume(
    registry, fast_flags, console, mlflow_server, http_env, monkeypatch
):
    """Stops the module's server: keep this test last in the module."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # a user's own setting wins (and the test is quicker)
    flags = {**fast_flags, "tracking_uri": mlflow_server.url}

    def server_goes_away(step: int, results: list) -> None:
        if mlflow_server.process.poll() is None:
            mlflow_server.stop()  # after the first evaluation, whose checkpoint is on disk

    with pytest.raises(TrackingUnavailable) as error:
        run(registry, flags, {}, None, console, on_evaluation=server_goes_away)
    message = str(error.value)
    assert f"the tracking server {mlflow_server.url} did not answer" in message
    checkpoint = Path(message.split("The run's last checkpoint, ")[1].split(", is intact")[0])
    assert f"ganbench run --resume {checkpoint}" in message
    assert load_checkpoint(checkpoint)["step"] == 6, "the checkpoint of the last evaluation before the fault"
