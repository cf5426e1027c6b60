"""The CLIP ViT-B/32 extractor: torch-fidelity's CLIP on the same weights, the architecture check, unavailability.

No CLIP weights are on the test machines: a tiny CLIP ViT (width 64, 2 layers, 64x64 input) with random
weights is saved as OpenAI's files are, a TorchScript archive, and loaded by ganbench and by torch-fidelity's
``FeatureExtractorCLIP``. Where the official file is in torch hub's cache it is loaded and run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP, VisionTransformer

import ganbench_plugins.clip_vit as clip_vit
import ganbench_plugins.weights as weights
from ganbench.registry import build_registry
from ganbench.specs import ExtractorRequest
from ganbench_plugins.pretrained import Pretrained, Unavailable

# writing and reading TorchScript files, as OpenAI's are
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:.*torch.jit:FutureWarning")

CPU = torch.device("cpu")
TINY = clip_vit.Architecture(patch_size=32, width=64, layers=2, resolution=64, embed_dim=16)


class _Clip(nn.Module):
    """What torch-fidelity reads of a CLIP file: the image tower and, for its output size, text_projection."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.visual = VisionTransformer(
            TINY.resolution, TINY.patch_size, TINY.width, TINY.layers, TINY.width // 64, TINY.embed_dim
        )
        self.text_projection = nn.Parameter(torch.randn(8, TINY.embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.visual(images)


def clip_file(path: Path, seed: int) -> Path:
    torch.jit.trace(_Clip(seed).eval(), torch.zeros(1, 3, TINY.resolution, TINY.resolution)).save(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clip_file(tmp_path_factory.mktemp("clip") / "tiny.pt", seed=0)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (3, 3, 48, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def tiny_extractor(path: Path, tmp_path: Path) -> Pretrained:
    request = ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(path)})
    extractor = clip_vit.build_extractor(request, TINY)
    assert isinstance(extractor, Pretrained), extractor.unavailable
    return extractor


def test_features_are_torch_fidelitys_on_the_same_weights(
    no_network: Path, tiny_file: Path, tmp_path: Path, images: torch.Tensor
) -> None:
    extractor = tiny_extractor(tiny_file, tmp_path)
    reference = FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path=str(tiny_file))

    features = extractor(images)

    with torch.no_grad():
        (expected,) = reference.eval()(images)
    assert set(features) == {clip_vit.FEATURE} and features[clip_vit.FEATURE].shape == (3, TINY.embed_dim)
    torch.testing.assert_close(features[clip_vit.FEATURE], expected, atol=1e-5, rtol=1e-5)
    assert extractor.name == "clip-vit-b32" and extractor.input_size == TINY.resolution


def test_the_weights_hash_changes_with_the_weights(no_network: Path, tiny_file: Path, tmp_path: Path) -> None:
    other = clip_file(tmp_path / "other.pt", seed=1)
    first, again = tiny_extractor(tiny_file, tmp_path), tiny_extractor(tiny_file, tmp_path)
    assert first.weights_hash == again.weights_hash != tiny_extractor(other, tmp_path).weights_hash


def test_another_clip_is_refused_naming_what_it_is(no_network: Path, tiny_file: Path, tmp_path: Path) -> None:
    request = ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(tiny_file)})
    extractor = clip_vit.build_extractor(request)
    assert isinstance(extractor, Unavailable)
    reason = extractor.unavailable[clip_vit.FEATURE]
    assert f"Could not load {tiny_file} as CLIP ViT-B/32 weights" in reason and "width=64" in reason


def test_offline_without_a_file_it_is_unavailable_with_the_fix(no_network: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    extractor = clip_vit.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path))
    assert time.monotonic() - started < 1
    assert isinstance(extractor, Unavailable) and extractor.features == ()
    reason = extractor.unavailable[clip_vit.FEATURE]
    assert "No CLIP ViT-B/32 weights" in reason and clip_vit.OFFICIAL.url in reason
    assert f"--extractor-option clip-vit-b32.weights=/path/to/{clip_vit.OFFICIAL.file_name}" in reason


def test_the_registry_finds_the_extractor_and_its_metrics() -> None:
    registry = build_registry()
    assert registry.get("feature extractor", "clip-vit-b32").build is clip_vit.build_extractor
    assert {registry.get("metric", name).extractor for name in ("fd-clip", "kid-clip")} == {"clip-vit-b32"}


def test_the_official_weights_give_torch_fidelitys_features(tmp_path: Path, images: torch.Tensor) -> None:
    path = weights.hub_path(clip_vit.OFFICIAL.file_name)
    if not path.is_file():
        pytest.skip(f"needs the official weights {path} (download {clip_vit.OFFICIAL.url})")
    extractor = clip_vit.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path))
    assert isinstance(extractor, Pretrained), extractor.unavailable
    reference = FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path=str(path))
    with torch.no_grad():
        (expected,) = reference.eval()(images)
    assert expected.shape == (3, 512) and extractor.input_size == 224
    torch.testing.assert_close(extractor(images)[clip_vit.FEATURE], expected, atol=1e-5, rtol=1e-5)
