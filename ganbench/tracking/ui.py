"""``ganbench ui``: the MLflow web UI on the project's tracking store, on localhost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from ganbench.errors import GanbenchError

HOST = "127.0.0.1"
# The MLflow UI opens a saved view of the runs table from the experiment tag SHARED_VIEW_TAG + key
# (a JSON of search facets and table state) when its URL carries ?viewStateShareKey=key.
SHARED_VIEW_TAG = "mlflow.sharedViewState."
VIEW_PREFIX = "ganbench-by-"
RUN_COLUMNS = ("tags.`model`", "tags.`loss`")
# A run that is not a training run says what it is: a search's parent run, or a `ganbench report`
KIND_TAG, STUDY_KIND, REPORT_KIND = "ganbench.kind", "study", "report"
STUDY_TAG = "ganbench.study"  # a study's name, on its parent run and on each of its trials' runs


def is_server(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


def local_store_path(tracking_uri: str) -> Path | None:
    """Where a local store lives on disk (SQLite file or store folder); None for other stores."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///"))
    if tracking_uri.startswith("file://"):
        return Path(tracking_uri.removeprefix("file://"))
    if tracking_uri.startswith("/"):
        return Path(tracking_uri)
    return None


def ui_argv(tracking_uri: str, port: int) -> list[str]:
    """The MLflow UI of this Python's MLflow on the store, bound to localhost only.

    No artifact root is passed: ganbench creates every experiment of a local store with its own
    artifact location (``results/mlartifacts/<experiment>``), which the UI reads directly.
    """
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",  # one user on localhost; MLflow's default of 4 web workers weighs on small machines
        "1",
    ]


def view_key(metric: str) -> str:
    """The name of the runs view that ranks by ``metric``."""
    return f"{VIEW_PREFIX}{metric}"


def runs_views(metrics: Mapping[str, bool]) -> dict[str, dict[str, Any]]:
    """One saved view of the runs table per metric (name -> higher is better): ranked by it, best
    first, with the model, the loss and every metric's column shown (MLflow hides metrics by default)."""
    columns = [*RUN_COLUMNS, *(_metric_column(metric) for metric in metrics)]
    return {
        view_key(metric): {"orderByKey": _metric_column(metric), "orderByAsc": not higher, "selectedColumns": columns}
        for metric, higher in metrics.items()
    }


def merged_view(view: dict[str, Any], saved: str | None) -> dict[str, Any]:
    """``view`` keeping the columns an earlier run of the experiment added to the saved one."""
    earlier = json.loads(saved).get("selectedColumns", []) if saved else []
    return {**view, "selectedColumns": list(dict.fromkeys([*view["selectedColumns"], *earlier]))}


def _metric_column(metric: str) -> str:
    return f"metrics.`{metric_keys(metric)[-1]}`"


def runs_page(base_url: str, experiment_id: str, metric: str = "fid") -> str:
    """The UI's page of an experiment's runs in the view that ranks them by ``metric``."""
    return f"{base_url}/#/experiments/{experiment_id}/runs?viewStateShareKey={view_key(metric)}"


def metric_keys(metric: str) -> tuple[str, ...]:
    """MLflow keys a metric's headline value may be logged under.

    A ``MetricSpec`` does not declare the key: its ``compute`` names it, and plugins name it after
    the metric with dashes as underscores (``proxy-fid`` logs ``proxy_fid``).
    """
    return tuple(dict.fromkeys((metric, metric.replace("-", "_"))))


def serve(tracking_uri: str, port: int, console: Console) -> int:
    """Run the UI until Ctrl-C; returns its exit status (0 when stopped with Ctrl-C)."""
    if is_server(tracking_uri):
        console.print(f"The runs are on a tracking server, which has its own UI: open {tracking_uri}")
        return 0
    store = local_store_path(tracking_uri)
    if store is not None and not store.exists():
        raise GanbenchError(
            f"There is no MLflow store at {store}: nothing has been tracked there yet. Train with `ganbench run`, "
            "or point --results-dir or --tracking-uri at the store that holds your runs."
        )
    base = f"http://{HOST}:{port}"
    console.print(f"MLflow UI at {base} for {tracking_uri} (Ctrl-C stops it)")
    for name, page in ranked_pages(tracking_uri, base) + report_pages(tracking_uri, base):
        console.print(f"  {name}: {page}", style="dim", highlight=False)
    process = subprocess.Popen(ui_argv(tracking_uri, port))
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The server got the same Ctrl-C: let it shut down rather than leave it running.
        process.wait()
        return 0


def ranked_pages(tracking_uri: str, base_url: str) -> list[tuple[str, str]]:
    """(experiment, page) for every experiment with ganbench's views: its runs ranked by FID when
    tracked, else by the first metric its runs evaluated."""
    from mlflow.tracking import MlflowClient

    pages = []
    for experiment in MlflowClient(tracking_uri=tracking_uri).search_experiments():
        metrics = [
            tag[len(SHARED_VIEW_TAG + VIEW_PREFIX) :]
            for tag in experiment.tags
            if tag.startswith(SHARED_VIEW_TAG + VIEW_PREFIX)
        ]
        if metrics:
            metric = "fid" if "fid" in metrics else metrics[0]
            pages.append((f"{experiment.name} by {metric}", runs_page(base_url, experiment.experiment_id, metric)))
    return pages


def report_pages(tracking_uri: str, base_url: str) -> list[tuple[str, str]]:
    """(what, page) for every `ganbench report` logged to the store: its run's artifacts, report.html first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return []
    found = client.search_runs(list(experiments), f"tags.`{KIND_TAG}` = '{REPORT_KIND}'", order_by=["start_time DESC"])
    return [
        (
            f"report of {experiments[run.info.experiment_id]} ({run.info.run_name})",
            f"{base_url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}/artifacts",
        )
        for run in found
    ]
