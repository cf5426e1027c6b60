"""Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models").

Around each reference sample, a ball reaching its k-th nearest reference neighbour (k = 5, as
in the paper and its ``prdc`` package). Density: how many reference balls a generated sample
lies in, on average, over k (about 1 when the two sets come from one distribution; above 1
where generated samples crowd together in dense real regions). Coverage, the headline: the
share of reference samples whose ball holds at least one generated sample (it drops when a
generator collapses onto some modes). Outliers sway them less than precision and recall, whose
balls surround the generated samples too. ``dc`` reads Inception pool3 features, ``proxy-dc``
the proxy classifier's; both share their extractor's one pass over the images with the other
metrics on it. Both are biased by the sample count (the balls shrink as the reference grows), so,
like precision and recall, they are flagged below 10k samples and compare only at equal counts.
"""

from __future__ import annotations

import torch
from torch_fidelity.metric_prc import calc_cdist_part

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.proxy as proxy
from ganbench import MetricInput, MetricSpec, hookimpl

NEAREST_K = 5
# Rows of a distance matrix computed at once, as for precision and recall: peak memory about this x n x 4 bytes
BATCH_SIZE = fidelity.PRC_BATCH_SIZE


def kth_neighbour_distances(features: torch.Tensor, k: int, batch_size: int = BATCH_SIZE) -> torch.Tensor:
    """Each row's distance to its k-th nearest other row (the (k+1)-th smallest counts the row itself)."""
    return torch.cat(
        [calc_cdist_part(rows, features, batch_size).kthvalue(k + 1).values for rows in features.split(batch_size)]
    )


def density_and_coverage(
    fake: torch.Tensor, real: torch.Tensor, k: int = NEAREST_K, batch_size: int = BATCH_SIZE
) -> tuple[float, float]:
    """Density and coverage of ``fake`` against ``real``, as ``prdc.compute_prdc`` defines them (strict ``<``),
    from at most ``batch_size`` rows of distances at a time (a row: one reference sample's distances to a whole set)."""
    radii = kth_neighbour_distances(real, k, batch_size)
    inside = covered = 0  # (reference ball, generated sample) pairs with the sample inside; balls with any inside
    # reference samples as rows, as for the radii: a distance at a ball's edge then rounds as the radius did
    for rows, row_radii in zip(real.split(batch_size), radii.split(batch_size), strict=True):
        distances = calc_cdist_part(rows, fake, batch_size)
        inside += int((distances < row_radii[:, None]).sum())
        covered += int((distances.min(dim=1).values < row_radii).sum())
    return inside / (k * len(fake)), covered / len(real)


def dc(inputs: MetricInput) -> dict[str, float]:
    fake, real = fidelity.fake_and_real(inputs, "Density and coverage", minimum=NEAREST_K + 1)
    density, coverage = density_and_coverage(fake, real)
    return {"dc": coverage, "dc_density": density}  # the headline, coverage, under the metric's name


def proxy_dc(inputs: MetricInput) -> dict[str, float]:
    return {f"proxy_{key}": value for key, value in dc(inputs).items()}


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="dc",
            description="Density and coverage (Naeem et al. 2020; k=5) on pool3: dc (coverage: share of reference "
            "samples with a generated one in their 5-NN ball), dc_density (~1 if matching); biased below 10k.",
            extractor=fidelity.EXTRACTOR,
            feature=fidelity.POOL3,
            compute=dc,
            higher_is_better=True,
            biased_below=fidelity.UNBIASED_SAMPLES,
        ),
        MetricSpec(
            name="proxy-dc",
            description="Density and coverage (k=5) on the proxy classifier's features: proxy_dc (coverage), "
            "proxy_dc_density; biased below 10k samples.",
            extractor=proxy.NAME,
            feature=proxy.FEATURES,
            compute=proxy_dc,
            higher_is_better=True,
            biased_below=fidelity.UNBIASED_SAMPLES,
        ),
    ]
