"""An encoder-decoder generator with skip connections (U-Net) for image-to-image models.

After pix2pix (Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017): stride-2 4x4 convs down to a 4x4 map, stride-2 4x4
transposed convs back up, each fed the encoder's map of the same size. A code vector (a
latent, a label's embedding, or both) enters at the 4x4 bottleneck.
"""

import math

import torch
from torch import nn


def _widths(resolution: int, width: int) -> list[int]:
    """Channels of the encoder's maps from resolution/2 down to 4x4: doubling from ``width``, at most 8x."""
    k = int(math.log2(resolution // 4)) if resolution >= 8 else 0
    if k < 1 or 4 * 2**k != resolution:
        raise ValueError(f"resolution must be a power of 2, at least 8; got {resolution}")
    return [width * 2 ** min(i, 3) for i in range(k)]


class UNetGenerator(nn.Module):
    """(image, code) -> image of ``out_channels`` in [-1, 1], the input's size.

    Encoder: LeakyReLU(0.2), batch norm on all but the first layer. Bottleneck: ``code``
    (N, code_dim) through a linear layer to a 4x4 map as wide as the encoder's last, appended
    to it. Decoder: batch norm and ReLU, each layer's output concatenated with the encoder's
    map of its size; tanh at the end.
    """

    def __init__(self, in_channels: int, out_channels: int, resolution: int, width: int, code_dim: int = 0) -> None:
        super().__init__()
        widths = _widths(resolution, width)
        self.encoder = nn.ModuleList()
        previous = in_channels
        for i, w in enumerate(widths):
            norm: list[nn.Module] = [nn.BatchNorm2d(w)] if i else []
            self.encoder.append(nn.Sequential(nn.Conv2d(previous, w, 4, 2, 1, bias=not i), *norm, nn.LeakyReLU(0.2)))
            previous = w
        self.code_channels = widths[-1] if code_dim else 0
        self.code = nn.Linear(code_dim, self.code_channels * 16) if code_dim else None
        self.decoder = nn.ModuleList()
        previous = widths[-1] + self.code_channels
        for w in reversed(widths[:-1]):
            self.decoder.append(
                nn.Sequential(nn.ConvTranspose2d(previous, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
            )
            previous = 2 * w  # with the skip
        self.output = nn.Sequential(nn.ConvTranspose2d(previous, out_channels, 4, 2, 1), nn.Tanh())

    def forward(self, images: torch.Tensor, code: torch.Tensor | None = None) -> torch.Tensor:
        skips = []
        h = images
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        if self.code is not None:
            if code is None:
                raise ValueError("this U-Net takes a code vector at its bottleneck")
            code_map = torch.relu(self.code(code)).view(-1, self.code_channels, 4, 4).to(h.dtype)
            h = torch.cat([h, code_map], dim=1)
        for layer, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            h = torch.cat([layer(h), skip], dim=1)
        return self.output(h)
