"""Finding pretrained weights in torch hub's cache, and hashing them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ganbench_plugins.weights as weights

URL = "https://weights.example/models/net-0123abcd.pth"


def test_a_file_in_torch_hubs_cache_is_used_without_the_network(no_network: Path, monkeypatch: pytest.MonkeyPatch):
    cached = no_network / "checkpoints" / "net-0123abcd.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    monkeypatch.setattr(weights, "host_resolves", lambda url, timeout: pytest.fail("looked up a host"))
    assert weights.hub_file(URL) == cached
    assert weights.hub_file(URL, "net-0123abcd.pth") == cached


def test_without_the_file_or_a_network_there_is_none(no_network: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *args, **kwargs: pytest.fail("downloaded"))
    assert weights.hub_file(URL) is None
    assert not no_network.exists()  # nothing was written to the cache


def test_a_download_checks_the_hash_prefix_in_the_file_name(no_network: Path, monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(weights, "host_resolves", lambda url, timeout: True)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, path, **kwargs: calls.append((url, kwargs)))
    weights.hub_file(URL)
    weights.hub_file("https://weights.example/dinov2_vitb14_pretrain.pth")
    assert [kwargs["hash_prefix"] for _, kwargs in calls] == ["0123abcd", None]


def test_the_hash_follows_the_tensors_and_leaves_out_what_skip_names() -> None:
    state = {"a": torch.ones(2), "b": torch.zeros(3)}
    same = weights.state_hash(state)
    assert weights.state_hash({"b": torch.zeros(3), "a": torch.ones(2)}) == same
    assert weights.state_hash({**state, "a": torch.tensor([1.0, 2.0])}) != same
    assert weights.state_hash({**state, "c": torch.ones(1)}, skip=lambda name: name == "c") == same
    assert len(same) == 16
