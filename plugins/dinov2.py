"""DINOv2 ViT-B/14 and ViT-L/14 features (Oquab et al. 2023), as FD_DINOv2 reads them.

FD_DINOv2 (Stein et al. 2023, "Exposing flaws of generative model evaluation metrics"; EDM2, Karras et al.
2024) runs the official DINOv2 from torch hub on 224x224 images normalised with ImageNet's mean and std, and
takes its output: the class token after the final layer norm (768-d for ViT-B/14, 1024-d for ViT-L/14).
torch-fidelity's ``FeatureExtractorDinoV2`` does the same, but loads code and weights only through torch hub
from GitHub (a weights path raises NotImplementedError). Here:

- the network is timm's ``VisionTransformer`` as timm's ``vit_*_patch14_dinov2`` configure it (patch 14,
  biased qkv, layer scale, LayerNorm eps 1e-6, exact GELU, final norm, class-token pooling, no head), built
  for 224x224 input;
- it loads the official checkpoint (``dinov2_vit*14_pretrain.pth``, the official parameter names, position
  embeddings for a 37x37 grid of 518 px) after two changes: ``mask_token`` (unused at inference) is dropped,
  and the position embeddings are resampled to the 16x16 grid once, exactly as the official
  ``interpolate_pos_encoding`` does on every 224-px call (bicubic at scale factor (16 + 0.1) / 37, not
  antialiased). timm's own resampling (by size, antialiased) moves them by several percent;
- torch-fidelity's extractor runs it, with its resize to 224x224 (TensorFlow-1 bilinear) and its ImageNet
  normalisation. Under ``--resize clean`` images arrive at 224x224 already, resized with PIL's bicubic as
  dgm-eval and EDM2 resize them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

from ganbench import ExtractorRequest, FeatureExtractor, FeatureExtractorSpec, hookimpl
from ganbench_plugins.pretrained import OfficialWeights, build

if TYPE_CHECKING:
    from timm.models.vision_transformer import VisionTransformer

FEATURE = "dinov2"  # torch-fidelity's name for it
INPUT_SIZE = FeatureExtractorDinoV2.INPUT_IMAGE_SIZE  # 224
PATCH_SIZE = 14
# the official code's work-around for a rounding problem of the first DINO, kept in DINOv2's hub models
INTERPOLATE_OFFSET = 0.1
URL = "https://dl.fbaipublicfiles.com/dinov2/dinov2_{arch}/dinov2_{arch}_pretrain.pth"


@dataclass(frozen=True)
class Architecture:
    embed_dim: int
    depth: int
    num_heads: int


@dataclass(frozen=True)
class Variant:
    official: OfficialWeights
    architecture: Architecture


def _variant(name: str, network: str, arch: str, architecture: Architecture) -> Variant:
    url = URL.format(arch=arch)
    return Variant(OfficialWeights(name, network, url, url.rsplit("/", 1)[1]), architecture)


VARIANTS = {
    variant.official.extractor: variant
    for variant in (
        _variant("dinov2-vit-b14", "DINOv2 ViT-B/14", "vitb14", Architecture(768, 12, 12)),
        _variant("dinov2-vit-l14", "DINOv2 ViT-L/14", "vitl14", Architecture(1024, 24, 16)),
    )
}


def vision_transformer(architecture: Architecture) -> VisionTransformer:
    """timm's ViT as ``vit_*_patch14_dinov2`` (the official DINOv2 backbone) for 224x224 input, without a head."""
    # imported here: timm takes about a second to import, which every ganbench command would pay
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=INPUT_SIZE,
        patch_size=PATCH_SIZE,
        embed_dim=architecture.embed_dim,
        depth=architecture.depth,
        num_heads=architecture.num_heads,
        init_values=1.0,  # layer scale; its value is the checkpoint's
        num_classes=0,
    )


def interpolate_pos_embed(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """Position embeddings (1, 1 + M*M, D) for a grid x grid image, as the official ``interpolate_pos_encoding``."""
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:].float()
    size = math.isqrt(patches.shape[1])
    if size * size != patches.shape[1]:
        raise ValueError(f"{patches.shape[1]} position embeddings do not form a square grid")
    if size == grid:
        return pos_embed
    scale = (grid + INTERPOLATE_OFFSET) / size
    resampled = F.interpolate(
        patches.reshape(1, size, size, -1).permute(0, 3, 1, 2),
        scale_factor=(scale, scale),
        mode="bicubic",
        antialias=False,
    )
    resampled = resampled.permute(0, 2, 3, 1).reshape(1, grid * grid, -1).to(pos_embed.dtype)
    return torch.cat([cls, resampled], dim=1)


def timm_state(official: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An official DINOv2 state dict as the 224-px timm network's: the names agree; ``mask_token`` goes,
    the position embeddings are resampled."""
    state = {name: tensor for name, tensor in official.items() if name != "mask_token"}
    state["pos_embed"] = interpolate_pos_embed(state["pos_embed"], INPUT_SIZE // PATCH_SIZE)
    return state


class DinoV2Features(FeatureExtractorDinoV2):
    """torch-fidelity's DINOv2 extractor (its resize and normalisation) around a network loaded here.

    Its own constructor loads through torch hub, so only the base class's runs.
    """

    def __init__(self, name: str, model: torch.nn.Module) -> None:
        FeatureExtractorBase.__init__(self, name, [FEATURE])
        self.feature_extractor_internal_dtype = torch.float32
        self.model = model
        self.requires_grad_(False)
        self.eval()


def load_network(path: Path, variant: Variant) -> DinoV2Features:
    """The extractor network with the official weights file at ``path`` (strict: every tensor must match)."""
    official = torch.load(path, map_location="cpu", weights_only=True)
    model = vision_transformer(variant.architecture)
    model.load_state_dict(timm_state(official))
    return DinoV2Features(variant.official.extractor, model)


def build_extractor(request: ExtractorRequest, variant: Variant) -> FeatureExtractor:
    return build(variant.official, (FEATURE,), request, partial(load_network, variant=variant))


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=name,
            description=f"{variant.official.network} (Oquab et al. 2023), official weights: the class token after "
            f"the final norm at 224x224, as FD_DINOv2 reads it ('{FEATURE}', {variant.architecture.embed_dim}-d).",
            build=partial(build_extractor, variant=variant),
            options={"weights": ""},  # a local official checkpoint ("": torch hub's cache, else a download)
        )
        for name, variant in VARIANTS.items()
    ]
