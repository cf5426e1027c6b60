"""OpenAI CLIP ViT-B/32 image embeddings (Radford et al. 2021), as torch-fidelity's ``FeatureExtractorCLIP`` has them.

The 512-d projected image embedding of the official weights (OpenAI's TorchScript file ``ViT-B-32.pt``), on
224x224 images normalised with CLIP's mean and std: the features of clean-fid's CLIP-FID and of FID_CLIP
(Kynkaenniemi et al. 2023, "The Role of ImageNet Classes in Frechet Inception Distance"). The network, its
resize (TensorFlow-1 bilinear, ``legacy-tf``) and its normalisation are torch-fidelity's; the weights file is
the one torch-fidelity downloads, under the name it gives it in torch hub's cache.

(Not ``clip.py``: that plugin is weight clipping.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from torch_fidelity.feature_extractor_clip import MODEL_METADATA, MODEL_URLS, FeatureExtractorCLIP

from ganbench import ExtractorRequest, FeatureExtractor, FeatureExtractorSpec, hookimpl
from ganbench_plugins.pretrained import OfficialWeights, build

NAME = "clip-vit-b32"
TORCH_FIDELITY_NAME = "clip-vit-b-32"
FEATURE = "clip"
OFFICIAL = OfficialWeights(
    NAME,
    "CLIP ViT-B/32",
    MODEL_URLS[TORCH_FIDELITY_NAME],
    f"{TORCH_FIDELITY_NAME}-{MODEL_METADATA[TORCH_FIDELITY_NAME]['hash']}.pt",  # sha256 in the name: checked
)


@dataclass(frozen=True)
class Architecture:
    """What torch-fidelity reads off a CLIP file's tensors: it builds whichever CLIP they describe."""

    patch_size: int
    width: int
    layers: int
    resolution: int
    embed_dim: int


VIT_B32 = Architecture(patch_size=32, width=768, layers=12, resolution=224, embed_dim=512)


def architecture(network: FeatureExtractorCLIP) -> Architecture | None:
    """The ViT that ``network`` holds (None: a ResNet CLIP)."""
    visual = network.model.visual
    if not hasattr(visual, "transformer"):
        return None
    return Architecture(
        visual.conv1.kernel_size[0], visual.conv1.out_channels, visual.transformer.layers, network.resolution,
        visual.output_dim,
    )  # fmt: skip


def load_network(path: Path, expected: Architecture = VIT_B32) -> FeatureExtractorCLIP:
    """torch-fidelity's CLIP with the TorchScript weights at ``path``, refused unless they are ``expected``'s."""
    with warnings.catch_warnings():  # OpenAI ships TorchScript, whose loader torch deprecates
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.*", category=FutureWarning)
        network = FeatureExtractorCLIP(TORCH_FIDELITY_NAME, [FEATURE], feature_extractor_weights_path=str(path))
    found = architecture(network)
    if found != expected:
        raise ValueError(f"these are the weights of another CLIP ({found or 'a ResNet'}), not {expected}")
    return network


def build_extractor(request: ExtractorRequest, expected: Architecture = VIT_B32) -> FeatureExtractor:
    return build(OFFICIAL, (FEATURE,), request, partial(load_network, expected=expected))


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=NAME,
            description="OpenAI CLIP ViT-B/32 (Radford et al. 2021), official weights: the 512-d image embedding "
            f"at 224x224, as torch-fidelity computes it ('{FEATURE}').",
            build=build_extractor,
            options={"weights": ""},  # OpenAI's ViT-B-32.pt ("": torch hub's cache, else a download)
        )
    ]
