"""VGG-16 features for improved precision and recall (Kynkaenniemi et al. 2019), as torch-fidelity computes them.

The paper embeds images with VGG-16's second fully connected layer (4096-d); torch-fidelity's
``FeatureExtractorVGG16`` takes it after its ReLU (``fc2_relu``, torch-fidelity's default layer for precision
and recall) from torchvision's ImageNet weights (``vgg16-397923af.pth``), on 224x224 images (TensorFlow-1
bilinear resize, ``legacy-tf``) normalised with ImageNet's mean and std. torchvision trained its VGG-16
weights anew, while the paper's code ran the original ones (Simonyan & Zisserman's, as NVIDIA converted them),
so values compare exactly with torch-fidelity's and only approximately with the paper's.
"""

from __future__ import annotations

from pathlib import Path

from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16
from torchvision.models import VGG16_Weights

from ganbench import ExtractorRequest, FeatureExtractor, FeatureExtractorSpec, hookimpl
from ganbench_plugins.pretrained import OfficialWeights, build

NAME = "vgg16"
FEATURE = "fc2_relu"
URL = VGG16_Weights.IMAGENET1K_V1.url
# torchvision's name for it in torch hub's cache (sha256 prefix in the name: checked)
OFFICIAL = OfficialWeights(NAME, "VGG-16 (torchvision, ImageNet)", URL, URL.rsplit("/", 1)[1])


def load_network(path: Path) -> FeatureExtractorVGG16:
    """torch-fidelity's VGG-16 with the torchvision state dict at ``path`` (strict: every tensor must match)."""
    return FeatureExtractorVGG16(NAME, [FEATURE], feature_extractor_weights_path=str(path))


def build_extractor(request: ExtractorRequest) -> FeatureExtractor:
    return build(OFFICIAL, (FEATURE,), request, load_network)


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=NAME,
            description="VGG-16 with torchvision's ImageNet weights: fc2 after its ReLU at 224x224, as "
            f"torch-fidelity computes it for precision and recall ('{FEATURE}', 4096-d).",
            build=build_extractor,
            options={"weights": ""},  # torchvision's vgg16-397923af.pth ("": torch hub's cache, else a download)
        )
    ]
