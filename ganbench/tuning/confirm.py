"""``--confirm-seeds N``: the best trial's settings trained again with N new seeds once a study's budget is spent.

A search's best value was picked from many trials, so it is optimistic (the winner's curse); runs of the same
settings with seeds the search never used estimate what those settings give. They are ordinary runs tagged
``ganbench.confirms`` (the study) and ``ganbench.confirms_trial``, children of the study's parent run and not
trials of it: the leaderboard takes its mean, interval and tiers from them, and budget curves leave them out.
A confirmation that already finished is not run again, so an interrupted one resumes with ``--resume``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna
from mlflow.tracking import MlflowClient
from rich.console import Console

from ganbench.errors import MetricUnavailable, TrainingDiverged
from ganbench.statistics import summarize_seeds
from ganbench.tracking.leaderboard import ScoredRun, scored_run
from ganbench.training.runner import run
from ganbench.tuning.space import apply_params

if TYPE_CHECKING:
    from ganbench.tuning.study import Search

CONFIRMS_TAG, CONFIRMS_TRIAL_TAG = "ganbench.confirms", "ganbench.confirms_trial"


@dataclass(frozen=True)
class Confirmation:
    seed: int
    run_id: str
    value: float | None  # the best value of the searched metric over the run's evaluations
    failure: str = ""  # why the run gave no value


def confirmation_text(confirmations: list[Confirmation], metric: str) -> str:
    """E.g. "fid 41.2 ± 3.1 over seeds 1, 2, 3, 4" for the search's summary."""
    values = [c.value for c in confirmations if c.value is not None]
    seeds = ", ".join(str(c.seed) for c in confirmations)
    failed = len(confirmations) - len(values)
    failures = f"; {failed} gave no value" if failed else ""
    if not values:
        return f"no {metric} value over seeds {seeds}{failures}"
    summary = summarize_seeds(values)
    spread = f" ± {summary.sd:.2g}" if summary.sd is not None else ""
    return f"{metric} {summary.mean:.4g}{spread} over seeds {seeds}{failures}"


def confirmation_seeds(base_seed: int, count: int) -> list[int]:
    """Seeds the search never used: each trial trains with the study's seed."""
    return [base_seed + offset for offset in range(1, count + 1)]


def confirm_best(search: Search, study: optuna.Study, best: optuna.trial.FrozenTrial) -> list[Confirmation]:
    """Train ``best``'s settings with ``search.settings.confirm_seeds`` new seeds, skipping those already done."""
    done = _finished(search, best.number)
    flags = {**search.flags, **apply_params(search.config, best.params)}
    tags = {
        "mlflow.parentRunId": search.parent_run_id(study),
        CONFIRMS_TAG: search.name,
        CONFIRMS_TRIAL_TAG: str(best.number),
    }
    found = []
    for seed in confirmation_seeds(search.config.seed, search.settings.confirm_seeds):
        if seed in done:
            found.append(done[seed])
            search.console.print(f"confirm seed {seed}: already run ({done[seed].run_id})")
            continue
        found.append(_confirm(search, {**flags, "seed": seed, "run_name": f"{search.name}-best-s{seed}"}, tags, seed))
    return found


def _confirm(search: Search, flags: dict, tags: dict[str, str], seed: int) -> Confirmation:
    metric = search.settings.metric
    try:
        outcome = run(search.registry, flags, search.file_values, None, Console(file=io.StringIO()), tags=tags)
    except (TrainingDiverged, MetricUnavailable) as error:
        search.console.print(f"confirm seed {seed}: [red]failed[/]: {error}")
        return Confirmation(seed, "", None, str(error))
    if outcome.status == "KILLED":
        raise KeyboardInterrupt
    value = outcome.best.value if outcome.best else None  # the search's flags monitor its metric
    shown = f"{metric} {value:.4g} (best)" if value is not None else f"no {metric} value"
    search.console.print(f"confirm seed {seed}: {shown}, run {outcome.run_id}")
    return Confirmation(seed, outcome.run_id, value)


def _finished(search: Search, trial: int) -> dict[int, Confirmation]:
    """This study's finished confirmations of ``trial``, by seed."""
    client = MlflowClient(search.tracker.tracking_uri)
    experiment = client.get_experiment_by_name(search.experiment)
    if experiment is None:
        return {}
    query = (
        f"tags.`{CONFIRMS_TAG}` = '{search.name}' and tags.`{CONFIRMS_TRIAL_TAG}` = '{trial}' "
        "and attributes.status = 'FINISHED'"
    )
    higher = search.metric_spec.higher_is_better
    found = {}
    for found_run in client.search_runs([experiment.experiment_id], query):
        seed = int(found_run.data.params.get("seed", -1))
        scored = scored_run(client, found_run, search.settings.metric, higher)
        found[seed] = Confirmation(seed, found_run.info.run_id, scored.value if isinstance(scored, ScoredRun) else None)
    return found
