"""Layers with an equalized learning rate (Karras et al., "Progressive Growing of GANs", ICLR 2018, section 4.1).

Weights are stored as N(0, 1) / ``lr_multiplier`` and scaled at run time by ``lr_multiplier /
sqrt(fan_in)`` (He's constant), so that Adam, which normalises each gradient by its own scale,
moves every layer at the same speed. StyleGAN's mapping network uses ``lr_multiplier`` 0.01.
Activations are leaky ReLU (slope 0.2) times sqrt(2), which keeps unit variance through a layer.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.nn.fir import STYLEGAN2_TAPS, conv2d_resampled, fir_kernel

LEAKY_SLOPE = 0.2


def scaled_leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """leaky_relu(x, 0.2) * sqrt(2): StyleGAN's 'lrelu' with its default gain."""
    return F.leaky_relu(x, LEAKY_SLOPE) * math.sqrt(2)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each row of ``x`` divided by its root mean square (StyleGAN's normalisation of z and of label embeddings)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualizedLinear(nn.Module):
    """A fully connected layer with an equalized learning rate; ``activation``: followed by ``scaled_leaky_relu``.

    ``bias_init`` is the bias's initial value, which StyleGAN2's style affines set to 1.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.lr_multiplier = lr_multiplier
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_multiplier)
        return scaled_leaky_relu(x) if self.activation else x


class EqualizedConv2d(nn.Module):
    """A 'same' convolution with an equalized learning rate, followed by ``scaled_leaky_relu`` unless
    ``activation`` is False; ``down``: at half the size, through StyleGAN2's FIR filter."""

    kernel: torch.Tensor | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: bool = True,
        down: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.activation = activation
        self.down = down
        self.register_buffer("kernel", fir_kernel(STYLEGAN2_TAPS) if down else None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv2d_resampled(x, self.weight * self.weight_gain, self.kernel, down=self.down)
        x = x + self.bias.view(1, -1, 1, 1)
        return scaled_leaky_relu(x) if self.activation else x
