"""``ganbench ui``: the MLflow web UI on the project's tracking store, on localhost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from ganbench.errors import GanbenchError

HOST = "127.0.0.1"


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


def runs_page(base_url: str, experiment_id: str, metric: str = "fid") -> str:
    """The UI's page of an experiment's runs, sorted by ``metric`` (best first for lower-is-better metrics)."""
    return f"{base_url}/#/experiments/{experiment_id}/runs?orderByKey=metrics.%60{metric}%60&orderByAsc=true"


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
    console.print(f"an experiment's runs by FID: {runs_page(base, 'ID')}", style="dim")
    process = subprocess.Popen(ui_argv(tracking_uri, port))
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The server got the same Ctrl-C: let it shut down rather than leave it running.
        process.wait()
        return 0
