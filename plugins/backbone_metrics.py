"""FD, KID and precision/recall on DINOv2, CLIP and VGG-16 features, by ``ganbench_plugins.fidelity``'s functions.

The formulas are torch-fidelity's, through ``fidelity.fid``, ``fidelity.kid`` and ``fidelity.prc``; only the
features differ, and each value is renamed after its metric (``fid`` -> ``fd_dinov2``, ``kid_std`` ->
``kid_dinov2_std``), as the leaderboard looks it up.

``fd-dinov2`` and ``kid-dinov2`` read DINOv2 ViT-L/14: FD_DINOv2 as Stein et al. (2023) recommend it and EDM2
(Karras et al. 2024) reports it, so the plain name means the published number. ViT-B/14 (about 3.5x cheaper,
for monitoring) gets the suffix: ``fd-dinov2-b14``, ``kid-dinov2-b14``. ``fd-clip`` is clean-fid's CLIP-FID on
CLIP ViT-B/32. ``prc-vgg16`` is improved precision and recall on the VGG-16 features the paper defined them
on (``prc`` reads Inception's).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ganbench_plugins.fidelity as fidelity
from ganbench import MetricInput, MetricSpec, hookimpl
from ganbench_plugins import clip_vit, dinov2, vgg16

Compute = Callable[[MetricInput], dict[str, float]]


def renamed(compute: Compute, metric: str, inputs: MetricInput) -> dict[str, float]:
    """``compute``'s values with its headline (its first key) renamed after ``metric``, and the rest alike."""
    values = compute(inputs)
    headline, name = next(iter(values)), metric.replace("-", "_")
    return {name + key.removeprefix(headline): value for key, value in values.items()}


def _fd(name: str, extractor: str, feature: str, features: str, known_as: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        description=f"Frechet distance on {features} ({known_as}); biased upwards below 10k samples.",
        extractor=extractor,
        feature=feature,
        compute=partial(renamed, fidelity.fid, name),
        biased_below=fidelity.UNBIASED_SAMPLES,
        estimates_covariance=True,
    )


def _kid(name: str, extractor: str, feature: str, features: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        description=f"Kernel distance (KID's estimator) on {features}: mean and std over 100 subsets.",
        extractor=extractor,
        feature=feature,
        compute=partial(renamed, fidelity.kid, name),
    )


DINOV2_L14 = "DINOv2 ViT-L/14 class tokens"
DINOV2_B14 = "DINOv2 ViT-B/14 class tokens"
CLIP = "CLIP ViT-B/32 image embeddings"


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    l14, b14 = "dinov2-vit-l14", "dinov2-vit-b14"
    return [
        _fd("fd-dinov2", l14, dinov2.FEATURE, DINOV2_L14, "FD_DINOv2 as Stein et al. 2023 and EDM2 report it"),
        _kid("kid-dinov2", l14, dinov2.FEATURE, DINOV2_L14),
        _fd("fd-dinov2-b14", b14, dinov2.FEATURE, DINOV2_B14, "FD_DINOv2 on the 3.5x cheaper backbone"),
        _kid("kid-dinov2-b14", b14, dinov2.FEATURE, DINOV2_B14),
        _fd("fd-clip", clip_vit.NAME, clip_vit.FEATURE, CLIP, "clean-fid's CLIP-FID"),
        _kid("kid-clip", clip_vit.NAME, clip_vit.FEATURE, CLIP),
        MetricSpec(
            name="prc-vgg16",
            description="Improved precision and recall (Kynkaanniemi et al. 2019; k=3) on VGG-16 fc2 features, "
            "as the paper defined them: prc_vgg16 (their F-score), prc_vgg16_precision, prc_vgg16_recall.",
            extractor=vgg16.NAME,
            feature=vgg16.FEATURE,
            compute=partial(renamed, fidelity.prc, "prc-vgg16"),
            higher_is_better=True,
            biased_below=fidelity.UNBIASED_SAMPLES,
        ),
    ]
