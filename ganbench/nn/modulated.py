"""StyleGAN2's style-modulated convolutions (Karras et al., "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020, section 2.2).

A style s (one scale per input channel, an affine map of w) scales the weights, w'_oik = s_i w_oik,
and demodulation divides each output channel by ||w'_o|| (its L2 norm over inputs and taps), so
that an input of unit variance gives an output of unit variance whatever the style: the instance
normalisation of StyleGAN without its droplet artifacts. As the authors' code does when training,
the input is scaled by the style and the output by the demodulation coefficients around one
convolution with the shared weights (the same result as convolving with per-sample weights).
"""

import math

import torch
from torch import nn

from ganbench.nn.equalized import EqualizedLinear, scaled_leaky_relu
from ganbench.nn.fir import STYLEGAN2_TAPS, conv2d_resampled, fir_kernel, upsample2d


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: bool = False,
    kernel: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x`` (N, I, H, W) convolved with ``weight`` (O, I, k, k) modulated per sample by ``styles`` (N, I);
    ``up``: at twice the size, through the FIR ``kernel``."""
    x = conv2d_resampled(x * styles[:, :, None, None], weight, kernel, up=up)
    if not demodulate:
        return x
    # ||w'_o||^2 = sum_i s_i^2 sum_taps w_oi^2
    coefficients = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()
    return x * coefficients[:, :, None, None]


class StyleConv(nn.Module):
    """StyleGAN2's synthesis layer: a 3x3 modulated, demodulated convolution (``up``: at twice the size), plus
    a noise image times a learnt strength (0 at first), plus a bias, then ``scaled_leaky_relu``.

    ``forward(x, w, noise)``: ``noise`` (N, 1, H, W) is the noise to add, per sample; None adds the layer's
    fixed noise image instead (the reference's ``noise_mode='const'``).
    """

    noise_const: torch.Tensor
    kernel: torch.Tensor | None

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("kernel", fir_kernel(STYLEGAN2_TAPS) if up else None, persistent=False)
        self.up = up
        self.resolution = resolution

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        x = modulated_conv2d(x, self.weight, self.affine(w), up=self.up, kernel=self.kernel)
        x = x + (self.noise_const if noise is None else noise) * self.noise_strength
        return scaled_leaky_relu(x + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """StyleGAN2's output layer: a 1x1 modulated convolution without demodulation (the style scaled by
    1 / sqrt(in_channels)), plus a bias; ``forward(x, w, image)`` adds it to ``image`` (the lower
    resolution's, FIR-upsampled) when given: the skip generator's sum of outputs."""

    kernel: torch.Tensor

    def __init__(self, in_channels: int, image_channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(image_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(image_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)
        self.register_buffer("kernel", fir_kernel(STYLEGAN2_TAPS), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        y = modulated_conv2d(x, self.weight, styles, demodulate=False) + self.bias.view(1, -1, 1, 1)
        return y if image is None else upsample2d(image, self.kernel) + y
