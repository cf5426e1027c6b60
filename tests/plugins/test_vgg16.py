"""The VGG-16 extractor: torch-fidelity's VGG-16 on the same weights, unavailability, the precision/recall metric.

No VGG-16 weights are on the test machines: torchvision's VGG-16 with random weights (in half precision, to
halve the file) is loaded by ganbench and by torch-fidelity's ``FeatureExtractorVGG16``. Where torchvision's
weights are in torch hub's cache they are loaded and run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import torchvision
from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.vgg16 as vgg16
import ganbench_plugins.weights as weights
from ganbench.registry import build_registry
from ganbench.specs import ExtractorRequest, MetricInput
from ganbench_plugins.pretrained import Pretrained, Unavailable

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def random_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vgg16") / "vgg16-random.pth"
    torch.save({name: tensor.half() for name, tensor in torchvision.models.vgg16().state_dict().items()}, path)
    return path


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (2, 3, 48, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_features_are_torch_fidelitys_on_the_same_weights(
    no_network: Path, random_file: Path, tmp_path: Path, images: torch.Tensor
) -> None:
    request = ExtractorRequest(device=CPU, cache_dir=tmp_path, options={"weights": str(random_file)})
    extractor = vgg16.build_extractor(request)
    assert isinstance(extractor, Pretrained), extractor.unavailable
    features = extractor(images)

    reference = FeatureExtractorVGG16("vgg16", ["fc2_relu"], feature_extractor_weights_path=str(random_file))
    with torch.no_grad():
        (expected,) = reference.eval()(images)
    assert set(features) == {"fc2_relu"} and features["fc2_relu"].shape == (2, 4096)
    torch.testing.assert_close(features["fc2_relu"], expected, atol=1e-5, rtol=1e-5)
    assert extractor.input_size == 224 and len(extractor.weights_hash) == 16


def test_offline_without_a_file_it_is_unavailable_with_the_fix(no_network: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    extractor = vgg16.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path))
    assert time.monotonic() - started < 1
    assert isinstance(extractor, Unavailable) and extractor.features == ()
    reason = extractor.unavailable["fc2_relu"]
    assert "No VGG-16 (torchvision, ImageNet) weights" in reason and vgg16.URL in reason
    assert "--extractor-option vgg16.weights=/path/to/vgg16-397923af.pth" in reason


def test_prc_vgg16_is_fidelitys_precision_and_recall_under_its_own_name() -> None:
    spec = build_registry().get("metric", "prc-vgg16")
    generator = torch.Generator().manual_seed(3)
    fake, real = torch.randn(40, 8, generator=generator), torch.randn(50, 8, generator=generator) + 0.5
    inputs = MetricInput(fake, real, seed=0)
    expected = fidelity.prc(inputs)
    assert spec.extractor == "vgg16" and spec.feature == "fc2_relu" and spec.higher_is_better
    assert spec.compute(inputs) == {
        "prc_vgg16": expected["prc"],
        "prc_vgg16_precision": expected["prc_precision"],
        "prc_vgg16_recall": expected["prc_recall"],
    }


def test_the_official_weights_give_torch_fidelitys_features(tmp_path: Path, images: torch.Tensor) -> None:
    path = weights.hub_path(vgg16.OFFICIAL.file_name)
    if not path.is_file():
        pytest.skip(f"needs torchvision's VGG-16 weights {path} (download {vgg16.URL})")
    extractor = vgg16.build_extractor(ExtractorRequest(device=CPU, cache_dir=tmp_path))
    assert isinstance(extractor, Pretrained), extractor.unavailable
    reference = FeatureExtractorVGG16("vgg16", ["fc2_relu"])  # torchvision's weights, from the same cache
    with torch.no_grad():
        (expected,) = reference.eval()(images)
    torch.testing.assert_close(extractor(images)["fc2_relu"], expected, atol=1e-5, rtol=1e-5)
