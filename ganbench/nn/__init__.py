"""Layers and initialisations that model plugins share."""

from ganbench.nn.attention import SelfAttention
from ganbench.nn.conditional_norm import ConditionalBatchNorm2d, LinearConditionalBatchNorm2d
from ganbench.nn.conditioning import LabelMap, concat_label_embedding
from ganbench.nn.edges import edge_map
from ganbench.nn.init import normal_init, orthogonal_init, xavier_init
from ganbench.nn.ortho import orthogonal_penalty, orthogonal_weights
from ganbench.nn.projection import ProjectionHead
from ganbench.nn.resnet import DownBlock, ResNetDiscriminator, ResNetGenerator, UpBlock, attention_resolutions
from ganbench.nn.spectral import spectral_norm_all
from ganbench.nn.unet import UNetGenerator

__all__ = [
    "ConditionalBatchNorm2d",
    "DownBlock",
    "LabelMap",
    "LinearConditionalBatchNorm2d",
    "ProjectionHead",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SelfAttention",
    "UNetGenerator",
    "UpBlock",
    "attention_resolutions",
    "concat_label_embedding",
    "edge_map",
    "normal_init",
    "orthogonal_init",
    "orthogonal_penalty",
    "orthogonal_weights",
    "spectral_norm_all",
    "xavier_init",
]
