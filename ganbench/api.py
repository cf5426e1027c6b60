"""The Python API: train, evaluate, search, compare and rank from a notebook or a script.

Every function takes the run settings by their names in a config file (``model``, ``steps``,
``eval_every``, ``metrics``, ``model_options``...); a ``RunConfig`` is accepted too. Errors are
the ``GanbenchError`` subclasses the command line prints. The command line is a thin layer over
these functions.

    import ganbench
    result = ganbench.train(model="dcgan", dataset="shapes", steps=1000, eval_every=250)
    result.final["fid"], result.best["fid"], result.run_dir
    scores = ganbench.evaluate(result.run_id, metrics=["fid", "kid"], eval_samples=1000)
    study = ganbench.search(model="dcgan", dataset="shapes", metric="proxy-fid", trials=20)
    board = ganbench.leaderboard(dataset="shapes", metric="proxy-fid")
    print(board.to_markdown())
    ganbench.export_statistics("cifar10-test.npz", dataset="cifar10", reference_split="test", reference_samples=0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ganbench.config import EVAL_SETTINGS, RunConfig, as_dict, read_config_file
from ganbench.errors import ConfigError
from ganbench.evaluation.evaluator import MetricResult
from ganbench.evaluation.statistics_file import ReferenceStatistics
from ganbench.filesystem import file_name
from ganbench.registry import Registry, default_registry
from ganbench.reporting.report import WrittenReport, log_report, write_report
from ganbench.scoring.downstream import Budget
from ganbench.scoring.export import export_statistics as write_reference_statistics
from ganbench.scoring.score import Scored, score
from ganbench.tracking.leaderboard import Leaderboards, load_leaderboards
from ganbench.tracking.runs import Tracker, default_tracking_uri
from ganbench.training.loop import Evaluation, Outcome
from ganbench.training.runner import run
from ganbench.tuning.settings import SearchSettings
from ganbench.tuning.space import read_space_file
from ganbench.tuning.study import SearchOutcome, default_storage, resume_search, start_search

SOURCE = "arguments"  # how errors name where a setting came from


@dataclass(frozen=True)
class TrainResult:
    """A finished (or stopped) training run.

    ``final`` holds the last evaluation's value of each metric, ``best`` each metric's best value
    over all evaluations (by the metric's own direction); a metric that could not be computed is
    in neither, and ``unavailable`` says why. ``evaluations`` keep every value with its protocol.
    """

    run_id: str
    status: str  # FINISHED, STOPPED (early stop), KILLED (interrupted) or FAILED
    steps: int  # the steps trained
    run_dir: Path
    checkpoint: Path | None
    best_checkpoint: Path | None
    tracking_uri: str
    final: dict[str, float]
    best: dict[str, float]
    unavailable: dict[str, str]
    evaluations: list[Evaluation]
    wall_seconds: float
    images_per_second: float
    outcome: Outcome = field(repr=False)  # what the end-of-run summary prints
    message: str = ""

    @classmethod
    def of(cls, outcome: Outcome) -> TrainResult:
        computed = [(e.step, r) for e in outcome.evaluations for r in e.results if r.value is not None]
        last = outcome.evaluations[-1].results if outcome.evaluations else []
        best: dict[str, float] = {}
        for _, result in computed:
            value = float(result.value)  # type: ignore[arg-type]
            kept = best.get(result.metric, value)
            best[result.metric] = max(kept, value) if result.higher_is_better else min(kept, value)
        return cls(
            run_id=outcome.run_id,
            status=outcome.status,
            steps=outcome.step,
            run_dir=outcome.run_dir,
            checkpoint=outcome.checkpoint,
            best_checkpoint=outcome.best_checkpoint,
            tracking_uri=outcome.tracking_uri,
            final={r.metric: float(r.value) for r in last if r.value is not None},
            best=best,
            unavailable={r.metric: r.unavailable for r in last if r.unavailable},
            evaluations=outcome.evaluations,
            wall_seconds=outcome.wall_seconds,
            images_per_second=outcome.images_per_second,
            message=outcome.message,
            outcome=outcome,
        )


@dataclass(frozen=True)
class EvaluateResult:
    """The values of ``ganbench.evaluate``, each with its protocol (in ``results``), and where they were saved."""

    values: dict[str, float]
    unavailable: dict[str, str]
    results: list[MetricResult]
    caveats: list[str]
    record: Path
    scored: Scored = field(repr=False)

    @classmethod
    def of(cls, scored: Scored) -> EvaluateResult:
        return cls(
            values={r.metric: float(r.value) for r in scored.results if r.value is not None},
            unavailable={r.metric: r.unavailable for r in scored.results if r.unavailable},
            results=scored.results,
            caveats=scored.caveats,
            record=scored.record,
            scored=scored,
        )


def _console(quiet: bool, console: Console | None) -> Console:
    if quiet:
        return Console(quiet=True)
    return console or Console(stderr=True, highlight=False)


def _settings(config: RunConfig | Mapping[str, Any] | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The run settings given: a RunConfig's fields (all of them), overridden by keyword arguments."""
    if config is None:
        return dict(settings)
    if isinstance(config, RunConfig):
        return {**as_dict(config), **settings}
    if isinstance(config, Mapping):
        return {**config, **settings}
    raise ConfigError(f"config must be a RunConfig or a mapping of run settings, not {type(config).__name__}.")


def train(
    config: RunConfig | Mapping[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    resume: str | None = None,
    quiet: bool = False,
    console: Console | None = None,
    registry: Registry | None = None,
    given_as: str = SOURCE,
    **settings: Any,
) -> TrainResult:
    """Train (or ``resume``: a run id or checkpoint) one GAN and track it in MLflow, as ``ganbench run`` does.

    Settings are layered as on the command line: ganbench's defaults, the model's paper defaults,
    ``config_file``, then ``config`` and the keyword arguments (named ``given_as`` in messages). Progress goes
    to ``console`` (default: stderr); ``quiet`` silences it.
    """
    file_values = read_config_file(Path(config_file)) if config_file else {}
    outcome = run(
        registry or default_registry(),
        _settings(config, settings),
        file_values,
        resume,
        _console(quiet, console),
        flags_source=given_as,
    )
    return TrainResult.of(outcome)


def evaluate(
    source: str | Path,
    *,
    checkpoint: str = "last",
    augment: Budget | None = None,
    quiet: bool = False,
    console: Console | None = None,
    registry: Registry | None = None,
    **settings: Any,
) -> EvaluateResult:
    """Score ``source`` as ``ganbench eval`` does: a run id (its ``checkpoint``, last or best), a checkpoint file,
    or a folder of images (which needs ``dataset``). ``settings`` are the evaluation's run settings (``metrics``,
    ``eval_samples``, ``reference_split``...); a checkpoint's own are the defaults. ``augment``: also train
    downstream classifiers under that budget."""
    unknown = sorted(set(settings) - set(EVAL_SETTINGS))
    if unknown:
        raise ConfigError(
            f"evaluate() got {', '.join(map(repr, unknown))}, which no evaluation takes. Its settings are: "
            f"{', '.join(EVAL_SETTINGS)} (a checkpoint's other settings are its run's)."
        )
    console = _console(quiet, console)
    scored = score(str(source), registry or default_registry(), dict(settings), augment, console, checkpoint)
    return EvaluateResult.of(scored)


def export_statistics(
    path: str | Path,
    *,
    metric: str = "fid",
    quiet: bool = False,
    console: Console | None = None,
    registry: Registry | None = None,
    **settings: Any,
) -> ReferenceStatistics:
    """Write the reference statistics that ``metric`` compares with (the mean and covariance of its features of
    the reference images) to ``path``, an .npz as pytorch-fid and clean-fid read it, as ``ganbench stats export``
    does. ``settings`` are evaluation settings: ``dataset``, ``data_dir``, ``reference_split``,
    ``reference_samples``, ``resize``..."""
    unknown = sorted(set(settings) - set(EVAL_SETTINGS))
    if unknown:
        raise ConfigError(
            f"export_statistics() got {', '.join(map(repr, unknown))}, which no evaluation takes. Its settings are: "
            f"{', '.join(EVAL_SETTINGS)}."
        )
    registry, console = registry or default_registry(), _console(quiet, console)
    return write_reference_statistics(Path(path), registry, settings, console, metric)


def search(
    config: RunConfig | Mapping[str, Any] | None = None,
    *,
    metric: str = "fid",
    trials: int | None = None,
    timeout: float | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    study: str | None = None,
    storage: str | None = None,
    stale_after: int | None = None,
    confirm_seeds: int | None = None,
    space: Mapping[str, Any] | str | Path | None = None,
    config_file: str | Path | None = None,
    resume: bool = False,
    quiet: bool = False,
    console: Console | None = None,
    registry: Registry | None = None,
    **settings: Any,
) -> SearchOutcome:
    """An Optuna study of one model's hyperparameters, as ``ganbench search`` runs it; every trial is a run.

    ``trials``: finished trials the study should hold (default 20); ``timeout``: seconds after which no trial
    starts; ``stale_after``: seconds without a heartbeat after which a running trial counts as dead (default
    120). ``confirm_seeds``: once the budget is spent, train the best trial's settings again with this many
    new seeds (``SearchOutcome.confirmations``; the leaderboard's mean, interval and tiers use them).
    ``space``: overrides of the search space (the ``[space]`` table of a file, or that table as a mapping).
    ``resume=True`` continues ``study`` with its own settings: only ``trials``, ``timeout``, ``stale_after``
    and ``confirm_seeds`` may change then, and only those given do.
    """
    registry, console = registry or default_registry(), _console(quiet, console)
    if resume:
        if not study:
            raise ConfigError("resume=True needs the study's name: pass study=NAME (a search's outcome has it).")
        url = storage or default_storage(RunConfig(results_dir=settings.get("results_dir", "results")))
        budget = {"trials": trials, "timeout": timeout, "stale_after": stale_after, "confirm_seeds": confirm_seeds}
        given = {name: value for name, value in budget.items() if value is not None}
        return resume_search(registry, study, url, given, console)
    budget = {"trials": trials, "stale_after": stale_after, "confirm_seeds": confirm_seeds}
    search_settings = SearchSettings(
        metric=metric,
        timeout=timeout,
        sampler=sampler,
        pruner=pruner,
        study=study,
        storage=storage,
        **{name: value for name, value in budget.items() if value is not None},
    )
    file_values = read_config_file(Path(config_file)) if config_file else {}
    overrides = read_space_file(Path(space)) if isinstance(space, str | Path) else dict(space or {})
    return start_search(registry, _settings(config, settings), file_values, search_settings, overrides, console)


def compare(
    models: Sequence[str],
    *,
    metric: str = "fid",
    trials: int | None = None,
    quiet: bool = False,
    console: Console | None = None,
    registry: Registry | None = None,
    **search_arguments: Any,
) -> Leaderboards:
    """One search per model under the same budget (as ``ganbench compare``), then the leaderboard of their data."""
    if "model" in search_arguments:
        raise ConfigError("compare takes models=[...], not model=.")
    registry = registry or default_registry()
    for name in models:
        registry.get("model", name)  # an unknown name fails before any search starts
    outcome = None
    for name in models:
        outcome = search(
            model=name,
            metric=metric,
            trials=trials,
            quiet=quiet,
            console=console,
            registry=registry,
            **search_arguments,
        )
        if outcome.interrupted:
            break
    if outcome is None:
        raise ConfigError("compare needs at least one model: pass models=['dcgan', 'wgan-gp'].")
    return Leaderboards(load_leaderboards(outcome.tracking_uri, metric, registry, outcome.experiment))


def leaderboard(
    dataset: str | None = None,
    *,
    metric: str = "fid",
    results_dir: str | Path = "results",
    tracking_uri: str | None = None,
    registry: Registry | None = None,
) -> Leaderboards:
    """Each dataset's runs ranked by ``metric``, one table per protocol, as ``ganbench leaderboard`` shows them:
    ``.rows()`` as data, ``.to_markdown()``, ``.export(path)``."""
    uri = tracking_uri or default_tracking_uri(Path(results_dir))
    return Leaderboards(load_leaderboards(uri, metric, registry or default_registry(), dataset))


def report(
    dataset: str | None = None,
    *,
    metric: str = "fid",
    models: Sequence[str] = (),
    out: str | Path | None = None,
    results_dir: str | Path = "results",
    tracking_uri: str | None = None,
    registry: Registry | None = None,
    command: str = "ganbench.report()",
) -> WrittenReport:
    """``report.md`` and the self-contained ``report.html`` of ``dataset``'s runs ranked by ``metric`` (of
    ``models`` only, when given), in ``out`` (default ``RESULTS_DIR/reports/<dataset>-<metric>``), also logged
    to MLflow as a run tagged ``ganbench.kind=report`` (``WrittenReport.run_id``)."""
    uri = tracking_uri or default_tracking_uri(Path(results_dir))
    folder = Path(out) if out else Path(results_dir) / "reports" / file_name(f"{dataset or 'all'}-{metric}")
    written = write_report(uri, metric, registry or default_registry(), folder, command, dataset, list(models))
    return log_report(written, Tracker(uri, Path(results_dir) / "mlartifacts"), metric)
