"""Residual blocks and the ResNet generator and discriminator of SNGAN, cGAN-PD and SAGAN.

The blocks follow the reference code of Miyato et al. 2018 (SNGAN, arXiv:1802.05957) and
Miyato & Koyama 2018 (cGAN-PD, arXiv:1802.05637), which BigGAN and SAGAN reuse. The
networks are their 32 px CIFAR-10 ResNet (SNGAN Table 4), with constant widths, optional
class conditioning (conditional batch norm in G, a projection head in D) and an optional
self-attention block (Zhang et al. 2019). Each further doubling of the resolution adds one
up-block to G and one down-block to D.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.nn.attention import SelfAttention
from ganbench.nn.conditional_norm import ConditionalBatchNorm2d
from ganbench.nn.projection import ProjectionHead


def _batch_norm(channels: int, num_classes: int) -> nn.Module:
    return ConditionalBatchNorm2d(channels, num_classes) if num_classes else nn.BatchNorm2d(channels)


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class UpBlock(nn.Module):
    """G's residual block: (C)BN, ReLU, nearest x2, conv3x3, (C)BN, ReLU, conv3x3; shortcut: nearest x2, conv1x1.

    With ``num_classes`` > 0 both norms are ``ConditionalBatchNorm2d`` and ``forward`` needs labels.
    ``norm`` (channels -> a norm called ``norm(x, condition)``) replaces them with another
    conditional norm, e.g. BigGAN's ``LinearConditionalBatchNorm2d``; ``forward`` then passes
    its second argument, whatever it is, to both norms.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_classes: int = 0,
        norm: Callable[[int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.conditional = num_classes > 0 or norm is not None
        make_norm = norm or (lambda channels: _batch_norm(channels, num_classes))
        self.norm1 = make_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = make_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def _norm(self, norm: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return norm(x, labels) if self.conditional else norm(x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(_upsample(F.relu(self._norm(self.norm1, x, labels))))
        h = self.conv2(F.relu(self._norm(self.norm2, h, labels)))
        # a 1x1 conv commutes with nearest upsampling: convolving first is 4x cheaper
        return h + _upsample(self.shortcut(x))


class DownBlock(nn.Module):
    """D's residual block: ReLU, conv3x3, ReLU, conv3x3, then 2x2 average pooling if ``downsample``.

    The shortcut is the identity when the shape does not change, else a 1x1 conv (and the
    pooling). ``optimized`` is Miyato et al.'s first block, which sees the image: no ReLU
    before its first conv; it always downsamples.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True, optimized: bool = False) -> None:
        super().__init__()
        if optimized and not downsample:
            raise ValueError("the optimized block always downsamples")
        self.downsample, self.optimized = downsample, optimized
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if downsample or in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.optimized else F.relu(x))
        h = self.conv2(F.relu(h))
        # 2x2 average pooling commutes with a 1x1 conv: pooling the shortcut first is 4x cheaper
        skip = F.avg_pool2d(x, 2) if self.downsample else x
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + (self.shortcut(skip) if self.shortcut is not None else skip)


def _doublings(resolution: int) -> int:
    """Up-blocks between G's 4x4 map and the image."""
    k = int(math.log2(resolution // 4)) if resolution >= 8 else 0
    if k < 1 or 4 * 2**k != resolution:
        raise ValueError(f"resolution must be a power of 2, at least 16; got {resolution}")
    return k


def attention_resolutions(resolution: int) -> tuple[int, ...]:
    """The feature-map sizes where both networks can hold a self-attention block: 8 up to half the image."""
    return tuple(8 * 2**i for i in range(_doublings(resolution) - 1))


def _attention(resolution: int, attention_resolution: int, channels: int) -> SelfAttention | None:
    if not attention_resolution:
        return None
    if attention_resolution not in attention_resolutions(resolution):
        allowed = ", ".join(map(str, attention_resolutions(resolution)))
        raise ValueError(f"attention_resolution must be one of {allowed} (or 0: none) at {resolution} px")
    return SelfAttention(channels)


class ResNetGenerator(nn.Module):
    """z -> linear to a 4x4 map -> UpBlocks to the resolution -> BN, ReLU, conv3x3, tanh.

    Every block has ``width`` channels (SNGAN at 32 px: 256, three blocks). With
    ``attention_resolution`` > 0 a ``SelfAttention`` follows the block whose output has that size.
    The final batch norm is unconditional even in a conditional generator, as in the reference code.
    """

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int,
        width: int,
        num_classes: int = 0,
        attention_resolution: int = 0,
    ) -> None:
        super().__init__()
        self.width = width
        self.linear = nn.Linear(z_dim, 4 * 4 * width)
        self.blocks = nn.ModuleList(UpBlock(width, width, num_classes) for _ in range(_doublings(resolution)))
        self.attention = _attention(resolution, attention_resolution, width)
        # block i outputs a map of 8 * 2**i
        self.attention_after = int(math.log2(attention_resolution // 8)) if self.attention is not None else -1
        self.norm = nn.BatchNorm2d(width)
        self.conv = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.linear(z).view(-1, self.width, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, labels)
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return torch.tanh(self.conv(F.relu(self.norm(h))))


class ResNetDiscriminator(nn.Module):
    """image -> optimized DownBlock -> DownBlocks to 8x8 -> two DownBlocks without pooling -> ReLU, sum pooling, head.

    Every block has ``width`` channels (SNGAN at 32 px: 128). The head is a ``ProjectionHead``:
    a linear layer, plus the projection of the label embedding when ``num_classes`` > 0.
    With ``attention_resolution`` > 0 a ``SelfAttention`` follows the first block whose
    output has that size.
    """

    def __init__(
        self, resolution: int, channels: int, width: int, num_classes: int = 0, attention_resolution: int = 0
    ) -> None:
        super().__init__()
        downsampling = _doublings(resolution) - 1  # to 8x8
        blocks = [DownBlock(channels, width, optimized=True)]
        blocks += [DownBlock(width, width) for _ in range(downsampling - 1)]
        blocks += [DownBlock(width, width, downsample=False) for _ in range(2)]
        self.blocks = nn.ModuleList(blocks)
        self.attention = _attention(resolution, attention_resolution, width)
        # block i < downsampling outputs a map of resolution / 2**(i + 1)
        self.attention_after = (
            int(math.log2(resolution // attention_resolution)) - 1 if self.attention is not None else -1
        )
        self.head = ProjectionHead(width, num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = images
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return self.head(F.relu(h).sum(dim=(2, 3)), labels)
