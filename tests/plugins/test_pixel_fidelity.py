"""ssim and psnr: per-pair fidelity of generated images to their targets."""

from __future__ import annotations

import math

import pytest
import torch

from ganbench.errors import MetricUnavailable
from ganbench.specs import MetricInput
from ganbench_plugins.pixel_fidelity import RawPixels, psnr, ssim


def _pixels(images: torch.Tensor) -> torch.Tensor:
    return RawPixels()(images)["pixels"]


def test_psnr_is_per_pair_and_ssim_rewards_the_right_pairs():
    real = torch.randint(0, 256, (6, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    offset = torch.zeros_like(real)
    offset[:3] = 51  # pairs 0-2 off by 0.2 everywhere (PSNR 10 log10(1 / 0.04)), pairs 3-5 off by 0.2 on a third
    offset[3:, 0] = 51
    fake = (real.int() + offset).clamp(max=255).to(torch.uint8)
    clipped = (fake.float() - real.float()) / 255
    expected = sum(10 * math.log10(1 / pair.square().mean().item()) for pair in clipped) / 6
    paired = MetricInput(_pixels(fake), _pixels(real), 0, paired=True)
    assert psnr(paired)["psnr"] == pytest.approx(expected, rel=1e-5)
    assert ssim(MetricInput(_pixels(real), _pixels(real), 0, paired=True))["ssim"] == pytest.approx(1.0)
    shuffled = MetricInput(_pixels(real), _pixels(real.roll(1, dims=0)), 0, paired=True)
    assert ssim(shuffled)["ssim"] < 0.2  # random images against other random images


def test_without_pairs_there_is_no_value_but_a_reason():
    images = _pixels(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    for metric in (ssim, psnr):
        with pytest.raises(MetricUnavailable, match="image-conditioned model .*--pairing paired"):
            metric(MetricInput(images, images, 0, paired=False))
