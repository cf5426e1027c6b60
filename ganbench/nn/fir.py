"""Low-pass FIR resampling of feature maps by 2, as StyleGAN2 does it (its ``upfirdn2d`` and ``conv2d_resample``).

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020: resampling
goes through the separable filter [1, 3, 3, 1] (normalised to sum 1) rather than nearest or
bilinear interpolation. Plain PyTorch convolutions (depthwise for the filter), so it runs on
any device; the padding follows NVlabs/stylegan2-ada-pytorch, so maps keep their alignment.
"""

import torch
import torch.nn.functional as F

STYLEGAN2_TAPS = (1, 3, 3, 1)


def fir_kernel(taps: tuple[float, ...] = STYLEGAN2_TAPS) -> torch.Tensor:
    """The 2-D filter of the separable ``taps``, normalised to sum 1: shape (len(taps), len(taps))."""
    f = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def blur(x: torch.Tensor, kernel: torch.Tensor, padding: tuple[int, int], gain: float = 1.0) -> torch.Tensor:
    """Each channel of ``x`` convolved with ``kernel`` (times ``gain``) after padding each side with zeros
    (``padding``: before, after)."""
    channels = x.shape[1]
    weight = (kernel.flip(0, 1) * gain).to(x.dtype).expand(channels, 1, *kernel.shape)
    return F.conv2d(F.pad(x, (padding[0], padding[1]) * 2), weight, groups=channels)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``x`` at twice the size: zeros inserted after every pixel, then the filter at gain 4."""
    n, c, h, w = x.shape
    taps = kernel.shape[0]
    spread = F.pad(x.reshape(n, c, h, 1, w, 1), (0, 1, 0, 0, 0, 1)).reshape(n, c, 2 * h, 2 * w)
    return blur(spread, kernel, ((taps + 1) // 2, (taps - 2) // 2), gain=4.0)


def downsample2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``x`` at half the size: the filter, then every second pixel."""
    taps = kernel.shape[0]
    return blur(x, kernel, ((taps - 1) // 2, (taps - 2) // 2))[:, :, ::2, ::2]


def conv2d_resampled(
    x: torch.Tensor, weight: torch.Tensor, kernel: torch.Tensor | None = None, up: bool = False, down: bool = False
) -> torch.Tensor:
    """A 'same' convolution with ``weight`` (out, in, k, k), at twice the size (``up``: a strided transposed
    convolution, then the filter) or at half the size (``down``: the filter, then a strided convolution)."""
    size = weight.shape[-1]
    if not (up or down):
        return F.conv2d(x, weight, padding=size // 2)
    if up and down:
        raise ValueError("conv2d_resampled resamples up or down, not both")
    if kernel is None:
        raise ValueError("conv2d_resampled needs the FIR kernel to resample")
    taps = kernel.shape[0]
    if up:
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        before = size // 2 + (taps + 1) // 2 - (size - 1)
        after = size // 2 + (taps - 2) // 2 - (size - 2)
        return blur(x, kernel, (before, after), gain=4.0)
    x = blur(x, kernel, (size // 2 + (taps - 1) // 2, size // 2 + (taps - 2) // 2))
    return F.conv2d(x, weight, stride=2)
