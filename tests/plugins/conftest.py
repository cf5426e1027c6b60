"""Fixtures of the plugin tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ganbench_plugins.weights as weights


@pytest.fixture
def no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache (returned), and no host resolves: weights come only from the files a test names."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setattr(weights, "host_resolves", lambda url, timeout: False)
    return hub
