"""``ssim`` and ``psnr``: how close each generated image is to its target, pixel by pixel (torchmetrics' functions).

They apply to an image-conditioned model on paired data: generated image i was made from the
condition image (e.g. the sketch) of reference image i, which was drawn from that image, so
reference image i is its target. Anything else (unpaired conditions, a model with no condition
image, a folder of images) has no targets, and the metrics say so instead of giving a number.

The ``raw-pixels`` extractor hands the metrics the images themselves, as the evaluator
passes every extractor its images: uint8 RGB (grey repeated), flattened to (N, 3*H*W). The
metrics see them in [0, 1] (data range 1). SSIM is torchmetrics' Gaussian-window SSIM (11 px,
sigma 1.5; Wang et al. 2004) and PSNR is per pair, both averaged over the pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from ganbench import (
    ExtractorRequest,
    FeatureExtractor,
    FeatureExtractorSpec,
    MetricInput,
    MetricSpec,
    MetricUnavailable,
    hookimpl,
)

EXTRACTOR = "raw-pixels"
FEATURE = "pixels"


class RawPixels:
    """The images, flattened: (N, 3, H, W) uint8 -> (N, 3*H*W) uint8."""

    name = EXTRACTOR
    weights_hash = "0" * 16  # nothing learnt
    input_size = None
    features: tuple[str, ...] = (FEATURE,)
    unavailable: Mapping[str, str] = {}

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {FEATURE: images.flatten(1).cpu()}


def build_extractor(request: ExtractorRequest) -> FeatureExtractor:
    return RawPixels()


def _unflatten(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3*S*S) uint8 -> (N, 3, S, S) float in [0, 1]."""
    side = math.isqrt(pixels.shape[1] // 3)
    return pixels.view(-1, 3, side, side).float() / 255


def pairs(inputs: MetricInput, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Generated images and their targets, as many pairs as both sides have, in [0, 1]."""
    if not inputs.paired or inputs.real is None:
        raise MetricUnavailable(
            f"{metric} compares each generated image with the real image whose condition image (sketch) it was made "
            "from, and these images have no such targets: it needs an image-conditioned model (e.g. sketch2img) on "
            "paired condition images (--pairing paired)."
        )
    n = min(len(inputs.fake), len(inputs.real))
    return _unflatten(inputs.fake[:n]), _unflatten(inputs.real[:n])


def ssim(inputs: MetricInput) -> dict[str, float]:
    fake, real = pairs(inputs, "SSIM")
    value = structural_similarity_index_measure(fake, real, data_range=1.0)
    assert isinstance(value, torch.Tensor)  # a tuple only when asked for the full SSIM image
    return {"ssim": float(value)}


def psnr(inputs: MetricInput) -> dict[str, float]:
    fake, real = pairs(inputs, "PSNR")
    return {"psnr": float(peak_signal_noise_ratio(fake, real, data_range=1.0, dim=(1, 2, 3)))}


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=EXTRACTOR,
            description=f"The images themselves as uint8 RGB, flattened ('{FEATURE}'): for per-pair fidelity.",
            build=build_extractor,
        )
    ]


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="ssim",
            description="Mean SSIM of each generated image with its target (paired image-conditioned data only).",
            extractor=EXTRACTOR,
            feature=FEATURE,
            compute=ssim,
            higher_is_better=True,
        ),
        MetricSpec(
            name="psnr",
            description="Mean PSNR (dB) of each generated image with its target (paired image-conditioned data only).",
            extractor=EXTRACTOR,
            feature=FEATURE,
            compute=psnr,
            higher_is_better=True,
        ),
    ]
