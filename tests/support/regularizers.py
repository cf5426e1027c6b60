"""A few engine steps of DCGAN on shapes with a regularizer: the cheap end-to-end check of a regularizer plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient
from rich.console import Console

from ganbench.training.runner import run
from tests.support.models import one_thread


def train_dcgan_with(
    registry: Any, console: Console, fast_flags: dict, reg: list[str], reg_options: dict[str, Any], steps: int = 3
) -> tuple[Any, dict[str, float]]:
    """Train ``steps`` generator steps (2 D steps each); the outcome and the last value of every metric logged."""
    flags = {
        **fast_flags,
        "model": "dcgan",
        "steps": steps,
        "eval_every": steps,
        "log_every": steps,
        "n_disc": 2,
        "reg": reg,
        "reg_options": reg_options,
    }
    with one_thread():
        outcome = run(registry, flags, {}, None, console)
    assert outcome.status == "FINISHED" and outcome.step == steps
    client = MlflowClient(tracking_uri=f"sqlite:///{Path(flags['results_dir']).resolve() / 'mlflow.db'}")
    return outcome, dict(client.get_run(outcome.run_id).data.metrics)
