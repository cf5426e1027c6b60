"""Layers and initialisations that model plugins share."""

from ganbench.nn.attention import SelfAttention
from ganbench.nn.conditional_norm import ConditionalBatchNorm2d, LinearConditionalBatchNorm2d
from ganbench.nn.conditioning import LabelMap, concat_label_embedding
from ganbench.nn.edges import edge_map
from ganbench.nn.equalized import EqualizedConv2d, EqualizedLinear, normalize_2nd_moment, scaled_leaky_relu
from ganbench.nn.fir import blur, conv2d_resampled, downsample2d, fir_kernel, upsample2d
from ganbench.nn.init import normal_init, orthogonal_init, xavier_init
from ganbench.nn.minibatch_std import MinibatchStd
from ganbench.nn.modulated import StyleConv, ToRGB, modulated_conv2d
from ganbench.nn.ortho import orthogonal_penalty, orthogonal_weights
from ganbench.nn.projection import ProjectionHead
from ganbench.nn.resnet import DownBlock, ResNetDiscriminator, ResNetGenerator, UpBlock, attention_resolutions
from ganbench.nn.spectral import spectral_norm_all
from ganbench.nn.unet import UNetGenerator

__all__ = [
    "ConditionalBatchNorm2d",
    "DownBlock",
    "EqualizedConv2d",
    "EqualizedLinear",
    "LabelMap",
    "LinearConditionalBatchNorm2d",
    "MinibatchStd",
    "ProjectionHead",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SelfAttention",
    "StyleConv",
    "ToRGB",
    "UNetGenerator",
    "UpBlock",
    "attention_resolutions",
    "blur",
    "concat_label_embedding",
    "conv2d_resampled",
    "downsample2d",
    "edge_map",
    "fir_kernel",
    "modulated_conv2d",
    "normal_init",
    "normalize_2nd_moment",
    "orthogonal_init",
    "orthogonal_penalty",
    "orthogonal_weights",
    "scaled_leaky_relu",
    "spectral_norm_all",
    "upsample2d",
    "xavier_init",
]
