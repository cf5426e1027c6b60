"""Several search processes ("workers") on one study: who ran a trial, the shared trial budget, and a
study database that went away.

The budget of ``--trials N`` is the study's, not a worker's: trials are numbered 0, 1, ... across all
workers by the storage, and only trials numbered below N run. A worker stops once every number below
N is taken (running, finished, or queued for another worker), so N trials run in all however many
workers share the study. A trial cut off with its worker counts, as does the retry of its parameters.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections import Counter
from collections.abc import Sequence

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url

from ganbench.errors import GanbenchError

# What Optuna's RDB storage raises when its database does not answer: its own wrapper of SQLAlchemy's
# errors (whose message blames invalid data), or SQLAlchemy's errors themselves.
STORAGE_ERRORS = (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError)
WORKER_ATTR = "worker"


class StorageLost(GanbenchError):
    """The study's database stopped answering in the middle of a search."""


class BudgetSpent(GanbenchError):
    """A trial numbered at or beyond --trials: another worker took the last trial at the same moment."""


class SharedStorage(RDBStorage):
    """Optuna's RDB storage, with a heartbeat that outlives a database briefly away: a heartbeat that
    could not be written is tried again at the next interval (Optuna's heartbeat thread would die with a
    traceback, and the trial would be failed as dead once the database is back). The worker's own next
    write reports a database that stays away."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except STORAGE_ERRORS:
            pass


def worker_id() -> str:
    """``host:pid``: which process ran a trial, recorded on the trial and on its MLflow run."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_seed(seed: int, study: optuna.Study) -> int:
    """A sampler seed of this worker's own: workers seeded alike would propose the same parameters."""
    return seed + len(study.get_trials(deepcopy=False)) + zlib.crc32(worker_id().encode()) % 100_000


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages and MLflow params."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def budget_spent(study: optuna.Study, trials: int) -> bool:
    """Whether every trial number below ``trials`` is taken, so that no worker should start another."""
    existing = study.get_trials(deepcopy=False)
    queued = any(t.state == TrialState.WAITING and t.number < trials for t in existing)
    return len(existing) >= trials and not queued


class StopAtBudget:
    """Optuna callback: stop this worker once the study's budget is spent."""

    def __init__(self, trials: int) -> None:
        self.trials = trials

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if budget_spent(study, self.trials):
            study.stop()


def check_in_budget(trial: optuna.Trial, trials: int) -> None:
    """Refuse (as a failed trial that trains nothing) a trial numbered beyond the budget, and stop."""
    if trial.number >= trials:
        trial.study.stop()
        raise BudgetSpent(f"not run: the study's {trials} trials (--trials) were taken by other workers")


def storage_lost(url: str, study: str, error: BaseException) -> StorageLost:
    """The error that stops a worker whose study's database stopped answering, with what to do."""
    wrapped = isinstance(error, optuna.exceptions.StorageInternalError) and error.__cause__
    cause = error.__cause__ if wrapped else error
    reason = (str(getattr(cause, "orig", None) or cause).strip().splitlines() or [type(cause).__name__])[0]
    return StorageLost(
        f"Lost the Optuna storage {shown_url(url)} in the middle of study {study}: {reason}. This worker "
        "stopped; finished trials stay in the storage, and the cut-off trial's checkpoints on disk. "
        f"When the database answers again, continue with `ganbench search --study {study} --storage "
        f"{shown_url(url)} --resume` (the cut-off trial is retried once its heartbeat is --stale-after seconds old)."
    )


def worker_counts(trials: Sequence[FrozenTrial]) -> str:
    """``host:12 (3 trials), other:7 (2 trials)``: how the finished trials were shared out."""
    counts = Counter(str(t.user_attrs[WORKER_ATTR]) for t in trials if WORKER_ATTR in t.user_attrs)
    return ", ".join(f"{worker} ({n} trial{'s' if n != 1 else ''})" for worker, n in counts.most_common())
