"""FD∞: FID extrapolated to infinitely many generated samples (Chong & Forsyth, "Effectively Unbiased FID and
Inception Score and where to find them", CVPR 2020).

FID is biased upwards by a term that falls as 1/N in the number N of generated samples, by an
amount that depends on the model, so two models' FIDs from the same N can rank them wrongly.
FD∞ computes FID on 15 random subsets of the generated features, from N/10 to N samples as
the paper does (5k to 50k), fits FID against 1/N with least squares and reports the
intercept: the FID at 1/N = 0. The 1/N law holds only where the covariance is well estimated,
so no subset has fewer than 2 samples per feature dimension (4,096 on Inception's 2,048), and
the subsets must span at least a factor of 2: FD∞ needs N >= 4 x dimensions (8,192 on
Inception). The reference side keeps all its samples, as in the paper; its own bias remains,
so FD∞ values still compare only at one reference sample count.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics

from ganbench import MetricInput, MetricSpec, MetricUnavailable, hookimpl
from ganbench_plugins.fidelity import EXTRACTOR, POOL3, fake_and_real, frechet_distance

SUBSETS = 15
SMALLEST_SHARE = 10  # the smallest subset holds 1/10 of the samples (the paper: 5,000 of 50,000)
SAMPLES_PER_DIMENSION = 2  # in the smallest subset: fewer, and the covariance is too poorly estimated for 1/N
SPAN = 2  # the largest subset holds at least this many times the smallest's samples


def subset_sizes(n: int, dimensions: int) -> np.ndarray:
    """The generated sample counts FID is computed at: SUBSETS evenly spaced from the smallest (n/10, but at least
    2 per dimension) to n, distinct."""
    smallest = max(n // SMALLEST_SHARE, SAMPLES_PER_DIMENSION * dimensions)
    return np.unique(np.linspace(smallest, n, SUBSETS).astype(np.int64))


def fd_infinity(inputs: MetricInput) -> dict[str, float]:
    fake, real = fake_and_real(inputs, "FD∞")
    return extrapolated(fake, fid_features_to_statistics(real), inputs.seed)


def fd_infinity_from_statistics(inputs: MetricInput, reference: Mapping[str, np.ndarray]) -> dict[str, float]:
    """FD∞ against a reference given as its features' mean and covariance (a statistics file)."""
    return extrapolated(inputs.fake.detach().cpu(), reference, inputs.seed)


def extrapolated(fake: torch.Tensor, reference: Mapping[str, np.ndarray], seed: int) -> dict[str, float]:
    """FD∞ of ``fake`` features against the reference statistics, from subsets drawn by ``seed``."""
    dimensions = fake.shape[1]
    needed = SPAN * SAMPLES_PER_DIMENSION * dimensions
    if len(fake) < needed:
        raise MetricUnavailable(
            f"FD∞ fits FID over subsets of at least {SAMPLES_PER_DIMENSION} generated samples per feature dimension "
            f"that span a factor of {SPAN}, so it needs {needed:,} samples of {dimensions:,} features; got "
            f"{len(fake):,}. Evaluate with --eval-samples {needed} or more (the paper used 50,000)."
        )
    order = torch.randperm(len(fake), generator=torch.Generator().manual_seed(seed))
    sizes = subset_sizes(len(fake), dimensions)
    fids = [frechet_distance(fake[order[:n]], reference, f"{n} of the generated samples") for n in sizes]
    slope, intercept = np.polyfit(1.0 / sizes, fids, deg=1)
    return {"fd_inf": float(intercept), "fd_inf_slope": float(slope)}


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="fd-inf",
            description="FD∞ (Chong & Forsyth 2020): FID extrapolated to infinitely many generated samples from "
            "15 subsets (needs 8,192+); fd_inf_slope: the bias per 1/N.",
            extractor=EXTRACTOR,
            feature=POOL3,
            compute=fd_infinity,
            from_statistics=fd_infinity_from_statistics,
            estimates_covariance=True,
        )
    ]
