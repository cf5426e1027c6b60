"""Minibatch standard deviation (Karras et al., "Progressive Growing of GANs", ICLR 2018, section 3), as
StyleGAN2's discriminator uses it before its last convolution."""

import torch
from torch import nn


def group_size(batch: int, largest: int) -> int:
    """The largest group size up to ``largest`` that divides ``batch``: ``min(largest, batch)`` whenever that
    divides it, as the reference requires, and otherwise the next smaller divisor."""
    size = min(largest, batch)
    while batch % size:
        size -= 1
    return size


class MinibatchStd(nn.Module):
    """Appends ``channels`` feature maps to (N, C, H, W): per group of samples, the standard deviation of each
    feature over the group, averaged over the features (C / ``channels`` of them) and the pixels. Groups hold
    ``group_size`` samples (fewer when the batch is smaller or not a multiple of it: see ``group_size``); sample
    i belongs to group i mod (N / group size), as in the reference."""

    def __init__(self, group_size: int, channels: int = 1) -> None:
        super().__init__()
        self.group_size = group_size
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g, f = group_size(n, self.group_size), self.channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (N / g, F, C / F, H, W)
        y = y.mean(dim=(2, 3, 4)).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)
