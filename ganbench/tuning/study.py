"""``ganbench search``: an Optuna study of one model's hyperparameters, every trial a tracked run.

The study lives in an Optuna RDB store (SQLite under ``results/`` by default, any SQLAlchemy
URL with ``--storage``), so several processes or machines can work on one study and a study
stopped by Ctrl-C or a crash continues with ``--resume``. Each trial is an ordinary ganbench
run, nested in MLflow under one parent run per study. A trial reports its metric at every
evaluation, and the pruner may stop it there; a trial whose loss diverges, or whose sampled
settings are refused, is recorded as failed with the reason and the study goes on. A trial
whose process died stops sending heartbeats; the next process to work on the study marks it
failed and retries its parameters once.

Workers on several machines share a study through a database server (``--storage
postgresql+psycopg://...``): each runs ``ganbench search`` with the same settings and takes the next
trial, and ``--trials`` counts the study's trials, not a worker's (see ``ganbench.tuning.workers``).
"""

from __future__ import annotations

import io
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from ganbench.config import RunConfig, resolve_config
from ganbench.data.identity import experiment_name
from ganbench.errors import ConfigError, GanbenchError, MetricUnavailable, OutOfMemory, TrainingDiverged
from ganbench.evaluation.evaluator import MetricResult
from ganbench.registry import Registry
from ganbench.tracking.runs import Tracker, TrackingUnavailable
from ganbench.tracking.ui import KIND_TAG, STUDY_KIND, STUDY_TAG
from ganbench.training.loop import EarlyStop
from ganbench.training.out_of_memory import release_cached_memory
from ganbench.training.runner import make_tracker, run
from ganbench.tuning.confirm import Confirmation, confirm_best, confirmation_text
from ganbench.tuning.plots import save_study_plots
from ganbench.tuning.settings import SearchSettings
from ganbench.tuning.space import SearchSpace, apply_params, build_space
from ganbench.tuning.workers import (
    STORAGE_ERRORS,
    WORKER_ATTR,
    BudgetSpent,
    SharedStorage,
    StopAtBudget,
    StorageLost,
    budget_spent,
    check_in_budget,
    shown_url,
    storage_lost,
    worker_counts,
    worker_id,
    worker_seed,
)

# A trial's own failure: recorded, and the study goes on. Anything else (a missing dataset, a store
# that does not answer) would fail every trial, so it stops the study.
SCHEMA_ATTEMPTS = 3
TRIAL_ERRORS = (TrainingDiverged, ConfigError, MetricUnavailable, OutOfMemory)
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
JOIN_WAIT = 120  # seconds a joining worker waits for the study's first worker to save its settings
JOIN_MAY_DIFFER = tuple(  # a worker's own budget, and its own spelling of where things are
    [f"settings.{name}" for name in ("trials", "timeout", "stale_after", "confirm_seeds", "storage", "study")]
    + ["flags.results_dir", "flags.tracking_uri"]
)

# ganbench prints every trial once, failures with their reason; Optuna's own log would repeat them with tracebacks
optuna.logging.set_verbosity(optuna.logging.ERROR)


@dataclass
class SearchOutcome:
    study: str
    storage: str
    metric: str
    direction: str
    counts: dict[str, int]
    best: FrozenTrial | None
    parent_run_id: str
    tracking_uri: str
    experiment: str
    interrupted: bool
    workers: str = ""  # who ran the finished trials, e.g. "host:12 (3 trials), other:7 (2 trials)"
    confirmations: list[Confirmation] = field(default_factory=list)  # --confirm-seeds runs of the best settings


def default_storage(config: RunConfig) -> str:
    return f"sqlite:///{(Path(config.results_dir) / 'optuna.db').resolve()}"


def open_storage(url: str, stale_after: int) -> RDBStorage:
    if url.startswith("sqlite:///"):  # SQLite creates the file, not its folder
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    heartbeat = max(1, stale_after // 4)

    # a database server may have dropped a pooled connection (a restart, an idle timeout): test it before use
    engine = {} if url.startswith("sqlite") else {"pool_pre_ping": True}

    def connect() -> RDBStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return SharedStorage(
                url,
                engine_kwargs=engine,
                heartbeat_interval=heartbeat,
                grace_period=stale_after,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )

    try:
        return _retrying_schema_races(connect)
    except Exception as exc:  # SQLAlchemy raises many kinds: a bad URL, a missing driver, a server that is down
        raise ConfigError(
            f"Could not open the Optuna storage {shown_url(url)!r}: {exc}. Pass a SQLAlchemy URL to --storage "
            "(e.g. postgresql+psycopg://USER@HOST/DATABASE), and check that its database server is up."
        ) from exc


def _retrying_schema_races(connect: Callable[[], RDBStorage]) -> RDBStorage:
    """``connect()``, again after a pause when another process was creating a new store's schema at the
    same moment (search workers started together); the last attempt's error is the caller's."""
    for attempt in range(1, SCHEMA_ATTEMPTS):
        try:
            return connect()
        # a duplicate row; "already exists" (SQLite: OperationalError, PostgreSQL: ProgrammingError)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
            time.sleep(attempt)
    return connect()


class Search:
    """One study: its storage, settings, base run config, space and MLflow parent run."""

    def __init__(
        self,
        registry: Registry,
        flags: Mapping[str, Any],
        file_values: Mapping[str, Any],
        settings: SearchSettings,
        space_overrides: Mapping[str, Any],
        console: Console,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.console = console
        self.file_values = dict(file_values)
        asked = "metrics" in flags or "metrics" in file_values  # else only the searched metric, the cheapest
        extra = resolve_config(registry, self.file_values, flags).config.metrics if asked else []
        self.flags = {**flags, "metrics": list(dict.fromkeys([settings.metric, *extra])), "monitor": settings.metric}
        self.space_overrides = dict(space_overrides)
        self.config = resolve_config(registry, self.file_values, self.flags).config
        self.space: SearchSpace = build_space(self.config, registry, self.space_overrides)
        self.metric_spec = registry.get("metric", settings.metric)
        self.direction: Literal["minimize", "maximize"] = (
            "maximize" if self.metric_spec.higher_is_better else "minimize"
        )
        self.name = settings.study or f"{self.config.model}-{self.config.dataset}-{settings.metric}"
        self.storage_url = settings.storage or default_storage(self.config)
        self.experiment = experiment_name(self.config, registry)  # where runner.run files the trials too
        self.tracker = make_tracker(self.config)
        self.worker = worker_id()
        self._trial_run: str | None = None  # the MLflow run of this worker's current trial
        self._lost: StorageLost | None = None

    # ------------------------------------------------------------------ studies

    def create(self) -> optuna.Study:
        storage = open_storage(self.storage_url, self.settings.stale_after)
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=self.name,
                direction=self.direction,
                sampler=build_sampler(self.settings.sampler, self.config.seed),
                pruner=build_pruner(self.settings.pruner, self.config),
            )
        except optuna.exceptions.DuplicatedStudyError:
            return self._join(storage)
        parent = self.tracker.start(
            self.experiment,
            self.name,
            {
                KIND_TAG: STUDY_KIND,
                STUDY_TAG: self.name,
                "model": self.config.model,
                "dataset": self.config.dataset,
                "loss": self.config.loss,
            },
        )
        self.tracker.log_params(
            {
                **{f"search.{key}": str(value) for key, value in asdict(self.settings).items()},
                **{f"space.{key}": shown for key, shown in self.space.describe().items()},
                "search.storage": shown_url(self.storage_url),
                "search.direction": self.direction,
            }
        )
        saved = {
            "flags": self.flags,
            "file_values": self.file_values,
            "settings": asdict(self.settings),
            "space": self.space_overrides,
            "parent_run_id": parent,
        }
        baseline = self.space.baseline(self.config, self.registry)
        if baseline:
            study.enqueue_trial(baseline)  # trial 0: the paper's settings, so a search never ends below them
        for key, value in saved.items():  # the parent run last: a joining worker waits for it
            study.set_user_attr(f"ganbench.{key}", value)
        return study

    def _join(self, storage: RDBStorage) -> optuna.Study:
        """Work on an existing study that was started with the same settings: another worker's, or a
        finished one (which then has no trial left to run). Its budget (--trials, --timeout) is this worker's."""
        study = optuna.load_study(
            study_name=self.name, storage=storage, pruner=build_pruner(self.settings.pruner, self.config)
        )
        saved = _identity(_saved_settings(study, self.storage_url))
        mine = _identity(
            {
                "flags": self.flags,
                "file_values": self.file_values,
                "settings": asdict(self.settings),
                "space": self.space_overrides,
            }
        )
        differing = sorted(key for key in saved.keys() | mine.keys() if saved.get(key) != mine.get(key))
        if differing:
            raise ConfigError(
                f"A study named {self.name!r} already exists in {shown_url(self.storage_url)} with other settings "
                f"({', '.join(differing)}). Give every worker of a study the same settings, continue it with "
                f"`ganbench search --study {self.name} --resume`, or pass another --study name."
            )
        study.sampler = build_sampler(self.settings.sampler, worker_seed(self.config.seed, study))
        try:
            self.tracker.resume(self.parent_run_id(study))
        except TrackingUnavailable:
            raise
        except GanbenchError as error:  # e.g. the parent run is in another MLflow store
            raise ConfigError(
                f"{error}. The workers of one study log to one MLflow tracking store: pass this worker the "
                "--tracking-uri of the study's first worker (a shared `mlflow server`)."
            ) from error
        return study

    # ------------------------------------------------------------------ trials

    def optimize(self, study: optuna.Study) -> SearchOutcome:
        """Run trials until the study's budget is spent; a database that stops answering raises StorageLost."""
        interrupted = False
        try:
            if budget_spent(study, self.settings.trials):
                self._say_budget_spent(study)
            else:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                        study.optimize(
                            self._objective,
                            timeout=self.settings.timeout,
                            callbacks=[StopAtBudget(self.settings.trials)],
                            catch=(*TRIAL_ERRORS, BudgetSpent),
                        )
                except KeyboardInterrupt:
                    interrupted = True
            confirmations = [] if interrupted else self._confirm(study)
            return self._finish(study, interrupted or confirmations is None, confirmations or [])
        except Exception as error:
            # Optuna's own bookkeeping after a lost trial fails too, with errors of its own
            if self._lost is None and not isinstance(error, STORAGE_ERRORS):
                raise
            raise (self._lost or storage_lost(self.storage_url, self.name, error)) from error

    def _confirm(self, study: optuna.Study) -> list[Confirmation] | None:
        """The best trial's settings with --confirm-seeds new seeds, once the budget is spent; None if interrupted."""
        if not self.settings.confirm_seeds or not budget_spent(study, self.settings.trials):
            return []
        best = _best_trial(study)
        if best is None:
            self.console.print("--confirm-seeds: no trial completed, so there are no best settings to confirm.")
            return []
        self.console.print(
            f"Confirming trial {best.number}'s settings with {self.settings.confirm_seeds} new seeds (--confirm-seeds)"
        )
        try:
            return confirm_best(self, study, best)
        except KeyboardInterrupt:
            return None

    def _say_budget_spent(self, study: optuna.Study) -> None:
        finished = len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
        if finished >= self.settings.trials:
            self.console.print(
                f"Study {self.name} already holds {finished} finished trials (--trials {self.settings.trials}); "
                "pass a larger --trials to run more."
            )
        else:
            self.console.print(
                f"Study {self.name} has no trial left to start: other workers are running the last of its "
                f"{self.settings.trials} trials (--trials)."
            )

    def _objective(self, trial: optuna.Trial) -> float:
        """One trial of the study's budget, recorded as this worker's."""
        self._trial_run = None
        try:
            check_in_budget(trial, self.settings.trials)
            trial.set_user_attr(WORKER_ATTR, self.worker)
            return self._trial(trial)
        except BudgetSpent as error:
            trial.set_user_attr("fail_reason", str(error))
            self._print_trial(trial, {}, f"[dim]{error}[/]")
            raise
        except STORAGE_ERRORS as error:
            self._lost = storage_lost(self.storage_url, self.name, error)
            if self._trial_run:
                self._fail_lost_run(self._trial_run, self._lost)
            raise self._lost from error

    def _fail_lost_run(self, run_id: str, lost: StorageLost) -> None:
        """The trial's MLflow run says FAILED (not RUNNING) and why, when its study's database went away."""
        try:
            self.tracker.tag_run(run_id, {"ganbench.trial_state": "FAIL", "ganbench.error": str(lost)[:5000]})
            if self.tracker.run_status(run_id) == "RUNNING":
                self.tracker.terminate(run_id, "FAILED")
        except GanbenchError:
            pass  # MLflow is away too: `--resume` marks the run failed (reconcile_runs)

    def _started(self, trial: optuna.Trial, run_id: str) -> None:
        self._trial_run = run_id  # known even when the study's database cannot record it
        trial.set_user_attr("mlflow_run_id", run_id)

    def _trial(self, trial: optuna.Trial) -> float:
        release_cached_memory()  # what an earlier trial that ran out of memory left behind
        params = self.space.sample(trial)
        flags = {
            **self.flags,
            **apply_params(self.config, params),
            "run_name": f"{self.name}-t{trial.number}",
        }
        reported: dict[str, Any] = {}

        def on_evaluation(step: int, results: list[MetricResult]) -> None:
            result = next(r for r in results if r.metric == self.settings.metric)
            if result.value is None:
                raise MetricUnavailable(f"{self.settings.metric} could not be computed: {result.unavailable}")
            reported.update(
                value=result.value, step=step, protocol=result.protocol.describe() if result.protocol else ""
            )
            if "best" not in reported or self._better(result.value, reported["best"]):
                reported.update(best=result.value, best_step=step)
            trial.report(result.value, step)
            if trial.should_prune():
                reported["pruned"] = True
                raise EarlyStop(f"pruned by the {self.settings.pruner} pruner at step {step}")

        tags = {"mlflow.parentRunId": self.parent_run_id(trial.study), STUDY_TAG: self.name}
        tags["ganbench.trial"] = str(trial.number)
        tags["ganbench.worker"] = self.worker
        try:
            outcome = run(
                self.registry,
                flags,
                self.file_values,
                None,
                Console(file=io.StringIO()),
                on_evaluation,
                tags,
                on_start=lambda run_id: self._started(trial, run_id),
            )
        except TRIAL_ERRORS as error:
            trial.set_user_attr("fail_reason", str(error))
            self._tag_trial_run(trial, {"ganbench.trial_state": "FAIL"})
            self._print_trial(trial, params, f"[red]failed[/]: {error}")
            raise
        if outcome.status == "KILLED":
            raise KeyboardInterrupt
        if reported.get("protocol"):
            trial.set_user_attr("protocol", reported["protocol"])
        if reported.get("pruned"):
            self._tag_trial_run(trial, {"ganbench.trial_state": "PRUNED"})
            self._print_trial(trial, params, f"[yellow]pruned[/] at step {reported['step']} ({reported['value']:.4g})")
            raise optuna.TrialPruned(outcome.message)
        self._tag_trial_run(trial, {"ganbench.trial_state": "COMPLETE"})
        best = f"{self.settings.metric} [bold]{reported['best']:.4g}[/] (best, step {reported['best_step']})"
        self._print_trial(trial, params, f"{best}, {reported['value']:.4g} at the end")
        # a trial scores its best evaluation, as the leaderboard ranks runs
        return float(reported["best"])

    def _better(self, value: float, than: float) -> bool:
        return value > than if self.direction == "maximize" else value < than

    def parent_run_id(self, study: optuna.Study) -> str:
        return str(study.user_attrs["ganbench.parent_run_id"])

    def _tag_trial_run(self, trial: optuna.Trial, tags: dict[str, str]) -> None:
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id:
            self.tracker.tag_run(run_id, tags)

    def _print_trial(self, trial: optuna.Trial, params: Mapping[str, Any], result: str) -> None:
        shown = "  ".join(f"{key}={_short(value)}" for key, value in params.items())
        self.console.print(f"trial {trial.number}: {result}  [dim]{shown}[/]")

    # ------------------------------------------------------------------ the end

    def _finish(self, study: optuna.Study, interrupted: bool, confirmations: list[Confirmation]) -> SearchOutcome:
        trials = study.get_trials(deepcopy=False)
        counts = {state.name: sum(t.state == state for t in trials) for state in FINISHED_STATES}
        best = _best_trial(study)
        values: dict[str, float] = {f"trials_{name.lower()}": count for name, count in counts.items()}
        if best is not None and best.value is not None:
            values[f"best_{self.settings.metric}"] = best.value
            self.tracker.set_tags(
                {
                    "best.trial": str(best.number),
                    "best.run_id": str(best.user_attrs.get("mlflow_run_id", "")),
                    f"protocol.{self.settings.metric}": str(best.user_attrs.get("protocol", "")),
                    **{f"best.{key}": str(value) for key, value in best.params.items()},
                }
            )
        self.tracker.log_metrics(values, len(trials))
        plots_dir = Path(self.config.results_dir) / "studies" / self.name
        plots, missing = save_study_plots(study, plots_dir)
        for path in plots:
            self.tracker.log_artifact(path, "plots")
        if missing:
            self.tracker.set_tags({f"plot.{name}": f"not drawn: {reason}" for name, reason in missing.items()})
        self.tracker.end("KILLED" if interrupted else "FINISHED")
        return SearchOutcome(
            self.name,
            self.storage_url,
            self.settings.metric,
            self.direction,
            counts,
            best,
            self.tracker.run_id,
            self.tracker.tracking_uri,
            self.experiment,
            interrupted,
            worker_counts([t for t in trials if t.state in FINISHED_STATES]),
            confirmations,
        )


def start_search(
    registry: Registry,
    flags: Mapping[str, Any],
    file_values: Mapping[str, Any],
    settings: SearchSettings,
    space_overrides: Mapping[str, Any],
    console: Console,
) -> SearchOutcome:
    search = Search(registry, flags, file_values, settings, space_overrides, console)
    study = search.create()
    console.print(
        f"[bold]ganbench search[/]: study {search.name}, {search.config.model} on {search.config.dataset}, "
        f"{search.direction[:-1]}ing {settings.metric}, {settings.trials} trials, worker {search.worker}"
    )
    return search.optimize(study)


def resume_search(
    registry: Registry, name: str, storage_url: str, budget: Mapping[str, Any], console: Console
) -> SearchOutcome:
    """Continue a study with the settings it was started with; ``budget`` may change trials,
    timeout and stale_after."""
    storage = open_storage(storage_url, budget.get("stale_after", SearchSettings.stale_after))
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError as exc:
        raise ConfigError(
            f"There is no study named {name!r} in {shown_url(storage_url)}. `ganbench search` starts one; "
            "pass --storage if it lives elsewhere."
        ) from exc
    attrs = study.user_attrs
    settings = SearchSettings(**{**attrs["ganbench.settings"], **budget, "storage": storage_url, "study": name})
    search = Search(
        registry,
        attrs["ganbench.flags"],
        attrs["ganbench.file_values"],
        settings,
        attrs["ganbench.space"],
        console,
    )
    # a sampler seeded as at the start would propose the first trials' parameters again
    study.sampler = build_sampler(settings.sampler, worker_seed(search.config.seed, study))
    study.pruner = build_pruner(settings.pruner, search.config)
    search.tracker.resume(search.parent_run_id(study))
    for trial in fail_dead_trials(study):
        console.print(f"trial {trial.number} was cut off (its process stopped): marked failed, its parameters queued")
    reconcile_runs(study, search.tracker)
    done = len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
    console.print(
        f"[bold]ganbench search[/]: resuming study {name} with {done} finished trials, worker {search.worker}"
    )
    return search.optimize(study)


def fail_dead_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Mark trials whose heartbeat stopped as failed (their parameters are queued once more)."""
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)) if t.number in before]


def reconcile_runs(study: optuna.Study, tracker: Tracker) -> None:
    """A failed trial's MLflow run that still says RUNNING died with its process: say so in MLflow."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id and tracker.run_status(run_id) == "RUNNING":
            tracker.tag_run(run_id, {"ganbench.trial_state": "FAIL", "ganbench.error": "the search process died"})
            tracker.terminate(run_id, "FAILED")


def build_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def build_pruner(name: str, config: RunConfig) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=config.eval_every, max_resource=config.steps)
    return optuna.pruners.NopPruner()


def _best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return study.best_trial if complete else None


def _saved_settings(study: optuna.Study, storage_url: str) -> dict[str, Any]:
    """The settings a study was started with, waiting a while for the worker that is creating it."""
    deadline = time.monotonic() + JOIN_WAIT
    while "ganbench.parent_run_id" not in study.user_attrs:
        if time.monotonic() > deadline:
            raise ConfigError(
                f"Study {study.study_name} in {shown_url(storage_url)} has no ganbench settings: it was not "
                "started by `ganbench search`, or its first worker stopped while starting it. Pass another --study."
            )
        time.sleep(0.5)
    return {key.removeprefix("ganbench."): value for key, value in study.user_attrs.items()}


def _identity(saved: Mapping[str, Any]) -> dict[str, Any]:
    """What every worker of one study must share, as ``{"flags.lr_g": 0.0002, ...}`` in JSON's types (as a
    study's user attributes store them); its budget, and where its files and MLflow store are, may differ."""
    shared = {}
    for part in ("flags", "file_values", "settings", "space"):
        for key, value in dict(saved.get(part) or {}).items():
            if f"{part}.{key}" not in JOIN_MAY_DIFFER:
                shared[f"{part}.{key}"] = json.loads(json.dumps(value, default=str, sort_keys=True))
    return shared


def _short(value: Any) -> str:
    if isinstance(value, float) and value != 0 and not math.isnan(value):
        return f"{value:.3g}"
    return str(value)


def summary_rows(outcome: SearchOutcome) -> list[tuple[str, str]]:
    """What the CLI prints at the end, as label/value pairs."""
    counts = ", ".join(f"{n} {state.lower()}" for state, n in outcome.counts.items())
    rows = [("study", f"{outcome.study} ({shown_url(outcome.storage)})"), ("trials", counts)]
    if outcome.workers:
        rows.append(("workers", outcome.workers))
    if outcome.best is not None:
        best = outcome.best
        rows.append((f"best {outcome.metric}", f"{best.value:.4g} (trial {best.number}, {outcome.direction})"))
        rows.append(("protocol", str(best.user_attrs.get("protocol", ""))))
        rows.append(("best params", json.dumps(best.params, default=str)))
        rows.append(("best run", str(best.user_attrs.get("mlflow_run_id", ""))))
        if outcome.confirmations:
            rows.append(("new seeds", confirmation_text(outcome.confirmations, outcome.metric)))
    else:
        rows.append((f"best {outcome.metric}", "none: no trial completed"))
    rows.append(("parent run", outcome.parent_run_id))
    return rows
