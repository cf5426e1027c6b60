"""Search workers sharing one study through a PostgreSQL server of the test's own: every trial runs once,
the workers share them out, and a database that goes away mid-study loses nothing."""

import io
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from rich.console import Console

from ganbench.errors import ConfigError
from ganbench.training.checkpoint import load_checkpoint
from ganbench.tuning.settings import SearchSettings
from ganbench.tuning.study import open_storage, resume_search, start_search
from ganbench.tuning.workers import BudgetSpent, budget_spent, check_in_budget
from tests.conftest import FAST_EXPERIMENT, ganbench_command, plugin_env
from tests.support.postgres import PostgresServer, free_port

SPACE = "[space]\nlr_g = { low = 1e-5, high = 1e-3, log = true }\nbatch_size = 16\naugment = 'none'\n"
TINY = ["--batch-size", "16", "--metrics", "pixel-fid", "--eval-samples", "32", "--reference-samples", "32"]
TINY += ["--grid-size", "16", "--dataset-option", "size=256", "--model-option", "width=8"]
TINY += ["--metric", "pixel-fid", "--pruner", "none"]


def _search(tmp_path: Path, storage: str, *flags: str) -> subprocess.Popen:
    space = tmp_path / "space.toml"
    space.write_text(SPACE)
    return subprocess.Popen(
        [*ganbench_command(), "search", "--study", "s", "--storage", storage, "--space", str(space), *flags],
        env=plugin_env(tmp_path),
        cwd=tmp_path,  # the workers share one MLflow store, results/mlflow.db
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _trials(storage: str) -> list:
    """The study's trials, or none while the study or its schema is being created. The connection is closed
    at once: Optuna leaves each storage's pool to the garbage collector, and the reads of a polling loop in a
    large test process would otherwise use up the server's connections."""
    reader = None
    try:
        reader = optuna.storages.RDBStorage(storage)
        return optuna.load_study(study_name="s", storage=reader).get_trials()
    except (KeyError, sqlalchemy.exc.SQLAlchemyError):
        return []
    finally:
        if reader is not None:
            reader.engine.dispose()


def _mlflow(tmp_path: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")


def test_two_workers_share_one_study_and_run_every_trial_once(postgres: PostgresServer, tmp_path):
    storage = postgres.create_database("study")
    steps = ["--steps", "40", "--eval-every", "20", "--log-every", "10", "--trials", "4"]
    workers = [_search(tmp_path, storage, *steps, *TINY) for _ in range(2)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert f"worker {socket.gethostname()}:{worker.pid}" in stdout

    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    budget = [t for t in trials if t.number < 4]
    assert [t.number for t in budget] == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in budget)
    # two workers finishing at the same instant may both start a trial for the last slot: the later one
    # is refused before it trains anything
    for extra in (t for t in trials if t.number >= 4):
        assert extra.state == TrialState.FAIL and "not run" in extra.user_attrs["fail_reason"]
        assert "mlflow_run_id" not in extra.user_attrs
    assert len({json.dumps(t.params, sort_keys=True) for t in budget}) == 4, "no parameters ran twice"
    ran_by = {t.user_attrs["worker"] for t in budget}
    assert ran_by == {f"{socket.gethostname()}:{worker.pid}" for worker in workers}, "both workers did work"

    client = _mlflow(tmp_path)
    experiment = client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id
    (parent,) = client.search_runs([experiment], "tags.`ganbench.kind` = 'study'")
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(int(run.data.tags["ganbench.trial"]) for run in children) == [0, 1, 2, 3], "one run per trial"
    for trial in budget:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.info.status == "FINISHED" and run.data.tags["ganbench.worker"] == trial.user_attrs["worker"]
    assert any("workers" in stdout and "(2 trials)" in stdout for stdout, _ in outputs)


def test_a_database_that_goes_away_stops_the_worker_clearly_and_resume_loses_nothing(
    postgres: PostgresServer, tmp_path, registry, monkeypatch
):
    storage = postgres.create_database("study")
    steps = ["--steps", "200", "--eval-every", "25", "--log-every", "25", "--trials", "3", "--stale-after", "4"]
    worker = _search(tmp_path, storage, *steps, *TINY)

    # stop the server in trial 1, after trial 0 completed and trial 1 evaluated (and saved a checkpoint) once
    deadline = time.time() + 600
    while True:
        trials = _trials(storage)
        if len(trials) > 1 and trials[1].intermediate_values and "mlflow_run_id" in trials[1].user_attrs:
            break
        assert worker.poll() is None, worker.communicate()[1]
        assert time.time() < deadline, "timed out"
        time.sleep(0.3)
    # paused while the server stops: on a loaded machine the worker could otherwise finish trials 1 and 2
    # before the server is down, and exit cleanly
    worker.send_signal(signal.SIGSTOP)
    # read again, now that the worker is still: its trial 1 must still be running
    deadline = time.time() + 60
    while len(fresh := _trials(storage)) < 2:  # an empty read is a transient storage error on a loaded machine
        assert time.time() < deadline, "timed out reading the study while its worker was stopped"
        time.sleep(0.3)
    done, cut = trials[0], fresh[1]
    assert done.state == TrialState.COMPLETE and cut.state == TrialState.RUNNING
    postgres.stop()
    worker.send_signal(signal.SIGCONT)
    _, stderr = worker.communicate(timeout=600)

    assert worker.returncode == 1
    assert f"Lost the Optuna storage {storage}" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    client = _mlflow(tmp_path)
    run = client.get_run(cut.user_attrs["mlflow_run_id"])
    assert run.info.status == "FAILED", "the cut-off trial's run is not left RUNNING"
    assert "Lost the Optuna storage" in run.data.tags["ganbench.error"]
    checkpoint = load_checkpoint(Path(run.data.tags["ganbench.checkpoint"]))
    assert checkpoint["step"] >= 25 and checkpoint["run_id"] == run.info.run_id

    postgres.start()
    time.sleep(2)  # the cut-off trial's heartbeat is older than --stale-after 1 below
    output = io.StringIO()
    monkeypatch.chdir(tmp_path)  # the study's MLflow store and results, as the worker saw them
    resume_search(registry, "s", storage, {"stale_after": 1}, Console(file=output))
    assert f"trial {cut.number} was cut off" in output.getvalue()
    trials = {t.number: t for t in optuna.load_study(study_name="s", storage=storage).get_trials()}
    assert trials[done.number].state == TrialState.COMPLETE and trials[done.number].value == done.value
    assert trials[cut.number].state == TrialState.FAIL
    (retried,) = (t for t in trials.values() if t.number not in (done.number, cut.number))
    assert len(trials) == 3, "the budget of 3 trials counts the cut-off one"
    assert retried.state == TrialState.COMPLETE and retried.params == cut.params, "its parameters ran again"


def test_a_database_that_restarted_between_trials_is_reconnected_without_a_word(postgres: PostgresServer):
    study = optuna.create_study(study_name="r", storage=open_storage(postgres.create_database("study"), 4))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    postgres.stop()
    postgres.start()  # the pooled connection of the first trial is dead now
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE] * 2


def test_a_database_that_is_down_at_the_start_is_a_clear_error():
    storage = f"postgresql+psycopg://postgres:secret@127.0.0.1:{free_port()}/study"
    with pytest.raises(ConfigError, match="Could not open the Optuna storage") as error:
        open_storage(storage, stale_after=4)
    assert "server is up" in str(error.value) and "postgres:***@127.0.0.1" in str(error.value)
    assert "secret" not in str(error.value), "the password is not shown"


def test_the_budget_counts_the_studys_trials_and_refuses_one_beyond_it():
    study = optuna.create_study()
    study.enqueue_trial({"x": 0.5})
    assert not budget_spent(study, 1), "a queued trial below the budget is still to run"
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    assert budget_spent(study, 2) and not budget_spent(study, 3)
    # a worker that lost the race for the last of 2 trials: refused before any work, and it stops
    study.optimize(lambda trial: check_in_budget(trial, 2) or 0.0, n_trials=5, catch=(BudgetSpent,))
    assert len(study.trials) == 3
    assert study.trials[2].state == TrialState.FAIL and study.trials[2].params == {}


def test_a_worker_with_the_same_settings_joins_the_study_and_one_with_others_is_refused(registry, fast_flags):
    settings = SearchSettings(metric="pixel-fid", trials=1, study="j", pruner="none")
    first = start_search(registry, fast_flags, {}, settings, {}, Console(file=io.StringIO()))
    joined_output = io.StringIO()
    joined = start_search(registry, fast_flags, {}, settings, {}, Console(file=joined_output))
    assert joined.parent_run_id == first.parent_run_id and joined.counts == first.counts
    assert "already holds 1 finished trials" in joined_output.getvalue(), "no trial beyond the study's budget"
    with pytest.raises(ConfigError, match=r"other settings \(flags.lr_g\).*--resume"):
        start_search(registry, {**fast_flags, "lr_g": 1e-3}, {}, settings, {}, Console(file=io.StringIO()))
