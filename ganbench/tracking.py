"""Everything MLflow: one run per training run, params, step-indexed metrics, artifacts, status."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganbench.errors import GanbenchError
from ganbench.ui import SHARED_VIEW_TAG, merged_view

# MLflow's store migrations print INFO lines a user has no use for
# (set after import: MLflow configures its loggers then).
for _name in ("mlflow", "alembic"):
    logging.getLogger(_name).setLevel(logging.WARNING)

MAX_BATCH = 900  # MLflow accepts at most 1000 metrics (and 100 params) per log_batch call
CHECKPOINT_TAG = "ganbench.checkpoint"
EXPERIMENT_KIND_TAG, TRAINING_EXPERIMENT = "mlflow.experimentKind", "custom_model_development"


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
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self._run_id: str | None = None

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            raise RuntimeError("no MLflow run started: call start() or resume() first")
        return self._run_id

    def _is_local_store(self) -> bool:
        return self.tracking_uri.startswith(("sqlite:", "file:", "/"))

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise GanbenchError(f"MLflow could not {what} at {self.tracking_uri}: {exc.message}") from exc
        except OSError as exc:  # a server that does not answer, an unwritable store
            raise GanbenchError(
                f"MLflow could not {what} at {self.tracking_uri}: {exc}. "
                "Check that the tracking server is up, or pass --tracking-uri."
            ) from exc

    def experiment_id(self, name: str) -> str:
        experiment = self._call("read experiments", self.client.get_experiment_by_name, name)
        if experiment is not None:
            return experiment.experiment_id
        location = (self.artifact_root / name).resolve().as_uri() if self._is_local_store() else None
        # MLflow 3's UI opens other experiments on its GenAI pages, which hide the training runs
        return self._call(
            "create an experiment",
            self.client.create_experiment,
            name,
            artifact_location=location,
            tags={EXPERIMENT_KIND_TAG: TRAINING_EXPERIMENT},
        )

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> str:
        run = self._call(
            "start a run", self.client.create_run, self.experiment_id(experiment), run_name=run_name, tags=tags
        )
        self._run_id = run.info.run_id
        return self._run_id

    def share_views(self, views: Mapping[str, dict[str, Any]]) -> None:
        """Save runs-table views on this run's experiment (see ``ganbench.ui.runs_views``)."""
        experiment_id = self._call("read the run", self.client.get_run, self.run_id).info.experiment_id
        saved = self._call("read the experiment", self.client.get_experiment, experiment_id).tags
        for key, view in views.items():
            tag = SHARED_VIEW_TAG + key
            value = json.dumps(merged_view(view, saved.get(tag)))
            self._call("save a view of the runs", self.client.set_experiment_tag, experiment_id, tag, value)

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
