"""``proxy-diversity``: how varied a conditional model's images of each class are, against the real ones.

For each class, the mean distance between two generated images of that class (on the proxy
classifier's features) divided by the mean distance between two real images of that class;
the headline is the mean over classes, ``proxy_diversity_min`` the least varied class. 1: as
varied as the real images; 0: one image per class whatever the latent (intra-class mode
collapse, which FID sees only mixed with everything else, and which the class accuracy of
the images cannot see at all). Above 1 means more varied than the real images, e.g. noise.
The AC-GAN paper measured the same thing with MS-SSIM between images of a class (Odena et
al. 2017, section 4.2); features are used here so the measure does not depend on position.
"""

from __future__ import annotations

import torch

from ganbench import MetricInput, MetricSpec, MetricUnavailable, hookimpl

EXTRACTOR, FEATURE = "proxy", "proxy_features"


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """The mean Euclidean distance over the distinct pairs of rows of ``features`` (at least 2 rows)."""
    distances = torch.cdist(features, features)
    n = len(features)
    return (distances.sum() / (n * (n - 1))).item()


def intra_class_diversity(inputs: MetricInput) -> dict[str, float]:
    if inputs.fake_labels is None:
        raise MetricUnavailable(
            "proxy-diversity compares the images of each requested class, and the model is unconditional."
        )
    if inputs.real is None or inputs.real_labels is None or bool((inputs.real_labels < 0).any()):
        raise MetricUnavailable("proxy-diversity needs labelled reference images, and these have no labels.")
    fake, real = inputs.fake.double().cpu(), inputs.real.double().cpu()
    fake_labels, real_labels = inputs.fake_labels.cpu(), inputs.real_labels.cpu()
    ratios = []
    for label in fake_labels.unique().tolist():
        fakes, reals = fake[fake_labels == label], real[real_labels == label]
        if len(fakes) >= 2 and len(reals) >= 2:
            ratios.append(mean_pairwise_distance(fakes) / mean_pairwise_distance(reals))
    if not ratios:
        raise MetricUnavailable(
            "proxy-diversity needs 2 or more generated and 2 or more real images of some class. "
            "Raise --eval-samples and --reference-samples."
        )
    return {"proxy_diversity": sum(ratios) / len(ratios), "proxy_diversity_min": min(ratios)}


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="proxy-diversity",
            description="Variety of a conditional model's images within each class over the real images' "
            "(proxy features; 1 = as varied, 0 = one image per class), and its least varied class.",
            extractor=EXTRACTOR,
            feature=FEATURE,
            compute=intra_class_diversity,
            higher_is_better=True,
        )
    ]
