"""Real Optuna studies on `shapes` with the fast test metric: pruning, failures, MLflow, resuming."""

import io
import json
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
import torch
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from rich.console import Console

from ganbench.errors import ConfigError
from ganbench.tuning.settings import SearchSettings
from ganbench.tuning.study import start_search
from tests.conftest import FAST_EXPERIMENT, ganbench_command, plugin_env

# Trials that can diverge (the test loss turns NaN after `after` steps) and that differ in how well they learn.
SPACE = {
    "lr_g": {"low": 1e-6, "high": 1e-2, "log": True},
    "loss_options.after": {"low": 2, "high": 40},  # NaN within the 12 steps of a trial when at most 12
    "batch_size": 16,
    "n_disc": 1,
    "ema_decay": 0.0,
    "augment": "none",
}


@pytest.fixture
def search_flags(fast_flags):
    return {**fast_flags, "loss": "explode", "eval_every": 4, "log_every": 2}


def _mlflow(flags) -> MlflowClient:
    return MlflowClient(f"sqlite:///{flags['results_dir']}/mlflow.db")


def _storage(flags) -> str:
    return f"sqlite:///{flags['results_dir']}/optuna.db"


def test_a_study_prunes_records_failures_and_tracks_every_trial(registry, search_flags):
    settings = SearchSettings(metric="pixel-fid", trials=6, study="s", pruner="hyperband")
    outcome = start_search(registry, search_flags, {}, settings, SPACE, Console(file=io.StringIO()))
    study = optuna.load_study(study_name="s", storage=_storage(search_flags))
    trials = study.get_trials()
    states = [t.state for t in trials]
    assert len(trials) == 6 and TrialState.RUNNING not in states
    assert TrialState.PRUNED in states and TrialState.FAIL in states and TrialState.COMPLETE in states
    for trial in trials:
        if trial.state == TrialState.FAIL:
            assert trial.params["loss_options.after"] <= 12
            assert "non-finite" in trial.user_attrs["fail_reason"]
    assert outcome.counts == {
        s.name: states.count(s) for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    assert outcome.best.value == min(t.value for t in trials if t.state == TrialState.COMPLETE)
    assert trials[0].params["lr_g"] == 2e-4, "trial 0 runs the paper's settings"

    client = _mlflow(search_flags)
    experiment = client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id
    parent = client.get_run(outcome.parent_run_id)
    assert parent.data.tags["ganbench.kind"] == "study" and parent.info.status == "FINISHED"
    assert parent.data.metrics["best_pixel-fid"] == pytest.approx(outcome.best.value)
    assert parent.data.params["space.lr_g"] == "1e-06 to 0.01 (log)"
    assert "32 generated" in parent.data.tags["protocol.pixel-fid"]
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{outcome.parent_run_id}'")
    by_trial = {int(run.data.tags["ganbench.trial"]): run for run in children}
    assert sorted(by_trial) == [t.number for t in trials]
    for trial in trials:
        run = by_trial[trial.number]
        assert run.data.tags["ganbench.trial_state"] == trial.state.name
        assert run.info.status == ("FAILED" if trial.state == TrialState.FAIL else "FINISHED")
        assert float(run.data.params["lr_g"]) == pytest.approx(trial.params["lr_g"])
        history = client.get_metric_history(run.info.run_id, "pixel_fid")
        assert [m.step for m in history] == sorted(trial.intermediate_values)  # reported and logged alike
        if trial.state == TrialState.COMPLETE:
            assert trial.value == min(m.value for m in history)  # its best evaluation, as the leaderboard ranks
    artifacts = {a.path for a in client.list_artifacts(outcome.parent_run_id, "plots")}
    assert "plots/optimization_history.png" in artifacts


def test_a_second_study_of_the_same_name_is_refused(registry, search_flags):
    settings = SearchSettings(metric="pixel-fid", trials=1, study="same")
    start_search(
        registry, search_flags, {}, settings, {**SPACE, "loss_options.after": 1000}, Console(file=io.StringIO())
    )
    with pytest.raises(ConfigError, match="already exists.*--resume"):
        start_search(registry, search_flags, {}, settings, SPACE, Console(file=io.StringIO()))


def _wait_for(condition, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.time() < deadline, "timed out"
        time.sleep(0.3)


def _trials(storage: str, states) -> list:
    if not Path(storage.removeprefix("sqlite:///")).exists():
        return []
    try:
        return optuna.load_study(study_name="k", storage=storage).get_trials(states=states)
    except KeyError:  # the study is not created yet
        return []
    except sqlalchemy.exc.SQLAlchemyError:  # the search is creating the store's schema at this very moment
        return []


def test_a_killed_search_resumes_without_losing_or_repeating_trials(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text("[space]\nlr_g = { low = 1e-5, high = 1e-3, log = true }\nbatch_size = 16\naugment = 'none'\n")
    flags = [
        "--steps",
        "400",
        "--eval-every",
        "200",
        "--log-every",
        "50",
        "--batch-size",
        "16",
        "--metrics",
        "pixel-fid",
    ]
    flags += ["--eval-samples", "32", "--reference-samples", "32", "--grid-size", "16", "--dataset-option", "size=256"]
    flags += ["--model-option", "width=8", "--trials", "3", "--metric", "pixel-fid", "--pruner", "none"]
    storage = f"sqlite:///{tmp_path / 'results' / 'optuna.db'}"
    process = subprocess.Popen(
        [*ganbench_command(), "search", "--study", "k", "--space", str(space), *flags],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    # kill it in its second trial, after the first is complete and the second's MLflow run exists
    def second_trial_tracked() -> bool:
        trials = _trials(storage, (TrialState.COMPLETE, TrialState.RUNNING))  # one snapshot, not two racing reads
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        return len(complete) == 1 and any("mlflow_run_id" in t.user_attrs for t in running)

    _wait_for(second_trial_tracked, process, timeout=600)  # a shared, loaded machine can take minutes
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    (before,) = _trials(storage, (TrialState.COMPLETE,))
    (cut,) = _trials(storage, (TrialState.RUNNING,))
    time.sleep(2)  # longer than --stale-after below without a heartbeat

    resumed = subprocess.run(
        [*ganbench_command(), "search", "--study", "k", "--resume", "--stale-after", "1", "--trials", "4"],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"trial {cut.number} was cut off" in resumed.stdout
    study = optuna.load_study(study_name="k", storage=storage)
    trials = {t.number: t for t in study.get_trials()}
    assert trials[before.number].state == TrialState.COMPLETE and trials[before.number].value == before.value
    assert trials[cut.number].state == TrialState.FAIL
    complete = [t for t in trials.values() if t.state == TrialState.COMPLETE]
    assert len(complete) == 3 and len(trials) == 4
    assert len({json.dumps(t.params, sort_keys=True) for t in complete}) == 3, "no trial ran twice"
    retried = [t for t in complete if t.params == cut.params]
    assert retried, "the cut-off trial's parameters are run again"
    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    cut_run = client.get_run(cut.user_attrs["mlflow_run_id"])
    assert cut_run.info.status == "FAILED" and cut_run.data.tags["ganbench.error"] == "the search process died"


def test_a_resumed_search_refuses_new_settings(tmp_path):
    result = subprocess.run(
        [*ganbench_command(), "search", "--study", "k", "--resume", "--lr-g", "0.1"],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "keeps the settings it was started with" in result.stderr and "--lr-g" in result.stderr
    assert "Traceback" not in result.stderr


def test_opening_a_store_whose_schema_another_worker_is_creating_tries_again(monkeypatch):
    import ganbench.tuning.study as search

    calls = []

    def connect():
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.IntegrityError("INSERT INTO alembic_version", {}, Exception("UNIQUE constraint"))
        return "storage"

    monkeypatch.setattr(search.time, "sleep", lambda seconds: None)
    assert search._retrying_schema_races(connect) == "storage" and len(calls) == 2


def test_a_trial_that_runs_out_of_memory_is_recorded_failed_and_the_search_goes_on(registry, search_flags, monkeypatch):
    from ganbench.training.loop import Trainer

    original = Trainer._train_step

    def train_step(self, batches):
        if self.config.batch_size == 32:  # as a device too small for the larger batch would
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, batches)

    monkeypatch.setattr(Trainer, "_train_step", train_step)
    space = {**SPACE, "loss_options.after": 1000, "batch_size": {"choices": [16, 32]}}
    settings = SearchSettings(metric="pixel-fid", trials=4, study="oom", pruner="none", sampler="random")
    start_search(registry, search_flags, {}, settings, space, Console(file=io.StringIO()))
    trials = optuna.load_study(study_name="oom", storage=_storage(search_flags)).get_trials()
    assert len(trials) == 4
    for trial in trials:
        if trial.params["batch_size"] == 32:
            assert trial.state == TrialState.FAIL
            assert "ran out of memory" in trial.user_attrs["fail_reason"]
            assert "--batch-size (now 32)" in trial.user_attrs["fail_reason"]
            run = _mlflow(search_flags).get_run(trial.user_attrs["mlflow_run_id"])
            assert run.info.status == "FAILED" and "ran out of memory" in run.data.tags["ganbench.error"]
        else:
            assert trial.state == TrialState.COMPLETE
    assert {t.params["batch_size"] for t in trials} == {16, 32}, "both kinds of trial ran"
