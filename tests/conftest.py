"""Shared fixtures: a registry with the cheap test plugin, fast run settings, subprocess environments."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

from ganbench.registry import build_registry
from tests.support import fast_plugin

REPO = Path(__file__).resolve().parents[1]
# Under pytest-xdist two workers share two cores: one thread each, or torch's threads spin-wait on each other.
XDIST = bool(os.environ.get("PYTEST_XDIST_WORKER"))
if XDIST:
    torch.set_num_threads(1)
SHARED_DATA = REPO.parent / "shared" / "data"
# The MLflow experiment of runs on fast_flags' data: shapes with 256 images (see ganbench.data.identity).
FAST_EXPERIMENT = "shapes[size=256]"


@pytest.fixture(scope="session")
def registry():
    """Installed plugins plus the test-only fast extractor, metric and loss."""
    return build_registry(extra_plugins=(fast_plugin,))


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture
def fast_flags(tmp_path: Path) -> dict:
    """A run that trains and evaluates in seconds, with results under tmp_path."""
    return {
        "steps": 12,
        "eval_every": 6,
        "log_every": 3,
        "batch_size": 16,
        "metrics": ["pixel-fid"],
        "eval_samples": 32,
        "reference_samples": 32,
        "grid_size": 16,
        "results_dir": str(tmp_path / "results"),
        "dataset_options": {"size": 256},
        "model_options": {"width": 8},
    }


def plugin_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a ``ganbench`` subprocess that also finds the fast test plugin through an entry point."""
    site = tmp_path / "site"
    dist = site / "ganbench_test_plugin-0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ganbench-test-plugin\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[ganbench]\nfast = tests.support.fast_plugin\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env["COLUMNS"] = "200"  # rich wraps tables to 80 columns when not on a terminal
    if XDIST:
        env["OMP_NUM_THREADS"] = "1"
    return env


def ganbench_command() -> list[str]:
    return [sys.executable, "-m", "ganbench"]
