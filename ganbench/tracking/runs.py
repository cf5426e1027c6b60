"""Everything MLflow: one run per training run, params, step-indexed metrics, artifacts, status."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient
from requests.exceptions import RequestException
from sqlalchemy.exc import SQLAlchemyError

from ganbench.errors import GanbenchError
from ganbench.filesystem import write_error
from ganbench.tracking.ui import SHARED_VIEW_TAG, merged_view

# MLflow's store migrations print INFO lines a user has no use for
# (set after import: MLflow configures its loggers then).
for _name in ("mlflow", "alembic"):
    logging.getLogger(_name).setLevel(logging.WARNING)

MAX_BATCH = 900  # MLflow accepts at most 1000 metrics (and 100 params) per log_batch call
CHECKPOINT_TAG = "ganbench.checkpoint"
EXPERIMENT_KIND_TAG, TRAINING_EXPERIMENT = "mlflow.experimentKind", "custom_model_development"
# MLflow's HTTP client retries a request 7 times with a growing backoff (about 4 minutes) before it
# reports a server that does not answer; ganbench reports it in seconds. A user's own settings win.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


class TrackingUnavailable(GanbenchError):
    """The MLflow tracking server did not answer (down, unreachable, or failing)."""


@contextmanager
def _sqlite_lock(tracking_uri: str) -> Iterator[None]:
    """An exclusive lock on ``<store>.lock`` beside a SQLite store; nothing for other stores, or where
    the folder cannot be written (opening the store then says so)."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    path = Path(tracking_uri.removeprefix("sqlite:///") + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def default_tracking_uri(results_dir: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store under ``results_dir``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{results_dir.resolve() / 'mlflow.db'}"


def ui_command(tracking_uri: str) -> str:
    if tracking_uri.startswith(("http://", "https://")):
        return f"open {tracking_uri}"
    return f"ganbench ui --tracking-uri {tracking_uri}"


class Tracker:
    """One MLflow run, logged through an explicit client (no global MLflow state)."""

    def __init__(self, tracking_uri: str, artifact_root: Path) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        if self._is_server():
            for name, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)
        self.client = self._open_store()
        self._run_id: str | None = None

    def _open_store(self) -> MlflowClient:
        """The client. Opening a new SQLite store creates its tables: processes that open one at the same
        moment (search workers started together) take turns, or their schema migrations collide."""
        with _sqlite_lock(self.tracking_uri):
            return self._call("open the tracking store", MlflowClient, tracking_uri=self.tracking_uri)

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            raise RuntimeError("no MLflow run started: call start() or resume() first")
        return self._run_id

    def _is_local_store(self) -> bool:
        return self.tracking_uri.startswith(("sqlite:", "file:", "/"))

    def _is_server(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            if isinstance(exc.__cause__ or exc.__context__, RequestException):
                raise TrackingUnavailable(
                    f"MLflow could not {what}: the tracking server {self.tracking_uri} did not answer "
                    f"({_first_line(exc.message)}, tried {os.environ.get('MLFLOW_HTTP_REQUEST_MAX_RETRIES')} "
                    "more times). Check that the server is up (`mlflow server ...`) and reachable from here, or "
                    "pass another --tracking-uri; MLFLOW_HTTP_REQUEST_MAX_RETRIES=7 makes MLflow wait minutes."
                ) from exc
            raise GanbenchError(f"MLflow could not {what} at {self.tracking_uri}: {exc.message}") from exc
        except SQLAlchemyError as exc:  # e.g. a full disk while a new SQLite store is created
            raise GanbenchError(
                f"MLflow could not {what} at {self.tracking_uri}: {getattr(exc, 'orig', None) or exc}. "
                "Free some disk space, or pass --results-dir or --tracking-uri elsewhere."
            ) from exc
        except OSError as exc:  # a server that does not answer, an unwritable store
            raise write_error(exc) or GanbenchError(
                f"MLflow could not {what} at {self.tracking_uri}: {exc}. "
                "Check that the tracking server is up, or pass --tracking-uri."
            ) from exc

    def experiment_id(self, name: str) -> str:
        experiment = self._call("read experiments", self.client.get_experiment_by_name, name)
        if experiment is not None:
            return experiment.experiment_id
        location = (self.artifact_root / name).resolve().as_uri() if self._is_local_store() else None
        try:
            # MLflow 3's UI opens other experiments on its GenAI pages, which hide the training runs
            return self._call(
                "create an experiment",
                self.client.create_experiment,
                name,
                artifact_location=location,
                tags={EXPERIMENT_KIND_TAG: TRAINING_EXPERIMENT},
            )
        except GanbenchError as error:  # fine when another process (a second worker) created it at the same moment
            cause = error.__cause__
            if not (isinstance(cause, MlflowException) and cause.error_code == ErrorCode.Name(RESOURCE_ALREADY_EXISTS)):
                raise
        return self._call("read experiments", self.client.get_experiment_by_name, name).experiment_id

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> str:
        run = self._call(
            "start a run", self.client.create_run, self.experiment_id(experiment), run_name=run_name, tags=tags
        )
        self._run_id = run.info.run_id
        return self._run_id

    def share_views(self, views: Mapping[str, dict[str, Any]]) -> None:
        """Save runs-table views on this run's experiment (see ``ganbench.tracking.ui.runs_views``)."""
        experiment_id = self._call("read the run", self.client.get_run, self.run_id).info.experiment_id
        for attempt in range(2):
            saved = self._call("read the experiment", self.client.get_experiment, experiment_id).tags
            try:
                for key, view in views.items():
                    tag = SHARED_VIEW_TAG + key
                    value = json.dumps(merged_view(view, saved.get(tag)))
                    self._call("save a view of the runs", self.client.set_experiment_tag, experiment_id, tag, value)
                return
            except TrackingUnavailable:
                raise
            except GanbenchError:  # another process (a second worker) saved the same view at that moment
                if attempt:
                    raise

    def resume(self, run_id: str) -> None:
        self._call("resume the run", self.client.update_run, run_id, status="RUNNING")
        self._run_id = run_id

    def log_params(self, params: dict[str, str]) -> None:
        items = [Param(key, value[:6000]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self._call("log params", self.client.log_batch, self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        timestamp = mlflow.utils.time.get_current_time_millis()
        items = [Metric(key, float(value), timestamp, step) for key, value in metrics.items()]
        for start in range(0, len(items), MAX_BATCH):
            self._call("log metrics", self.client.log_batch, self.run_id, metrics=items[start : start + MAX_BATCH])

    def set_tags(self, tags: dict[str, str]) -> None:
        self._call("set tags", self.client.log_batch, self.run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self._call("store an artifact", self.client.log_artifact, self.run_id, str(path), artifact_path)

    def end(self, status: str) -> None:
        self._call("close the run", self.client.set_terminated, self.run_id, status=status)

    def tag_run(self, run_id: str, tags: dict[str, str]) -> None:
        """Tags on another run than this tracker's (e.g. a search's trial, after it ended)."""
        self._call("set tags", self.client.log_batch, run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def run_status(self, run_id: str) -> str:
        return str(self._call(f"find run {run_id}", self.client.get_run, run_id).info.status)

    def terminate(self, run_id: str, status: str) -> None:
        self._call("close a run", self.client.set_terminated, run_id, status=status)

    def artifact_uri(self) -> str:
        return self._call("read the run", self.client.get_run, self.run_id).info.artifact_uri

    def run_tags(self, run_id: str) -> dict[str, str]:
        return self._call(f"find run {run_id}", self.client.get_run, run_id).data.tags

    def download_artifact(self, run_id: str, path: str, destination: Path) -> Path:
        destination.mkdir(parents=True, exist_ok=True)
        return Path(self._call("download an artifact", self.client.download_artifacts, run_id, path, str(destination)))


class SilentTracker(Tracker):
    """The tracker of a data-parallel run's ranks other than 0: rank 0 alone writes to the MLflow run."""

    def __init__(self, run_id: str, tracking_uri: str) -> None:  # no client: this tracker never calls MLflow
        self.tracking_uri = tracking_uri
        self._run_id = run_id

    def log_params(self, params: dict[str, str]) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def set_tags(self, tags: dict[str, str]) -> None:
        pass

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        pass

    def end(self, status: str) -> None:
        pass


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
