"""FID, KID, precision/recall and Inception Score on Inception-v3 features, computed by torch-fidelity's own functions.

ganbench extracts the features once (``inception-v3-compat``) and shares them between the
metrics; this module only hands them to torch-fidelity, so the numbers are torch-fidelity's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import (
    KEY_METRIC_F_SCORE,
    KEY_METRIC_PRECISION,
    KEY_METRIC_RECALL,
    prc_features_to_metric,
)

from ganbench import MetricInput, MetricSpec, MetricUnavailable, hookimpl

EXTRACTOR = "inception-v3-compat"
POOL3 = "2048"
LOGITS = "logits_unbiased"

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100
IS_SPLITS = 10
PRC_NEIGHBOURHOOD = 3  # k of the k-nearest-neighbour balls, as in Kynkaanniemi et al. 2019
# Rows of the distance matrix computed at once: peak memory is about this x n x 4 bytes (0.4 GB for 50k samples,
# where the whole n x n matrices would take 10 GB each)
PRC_BATCH_SIZE = 2000
# FID and precision/recall shift with the sample count below this many samples; KID's estimate is unbiased
UNBIASED_SAMPLES = 10_000
# Rounding puts the FID of identical feature sets a hair either side of 0; anything further below is wrong.
FID_TOLERANCE = 1e-6  # relative to the covariances' traces
IS_TOLERANCE = 1e-6


def fid(inputs: MetricInput) -> dict[str, float]:
    fake, real = fake_and_real(inputs, "FID")
    real_stats = fid_features_to_statistics(real)
    return {"fid": frechet_distance(fake, real_stats, f"{len(fake)} generated and {len(real)} reference samples")}


def fid_from_statistics(inputs: MetricInput, reference: Mapping[str, np.ndarray]) -> dict[str, float]:
    """FID against a reference given as its features' mean ``mu`` and covariance ``sigma`` (a statistics file)."""
    fake = inputs.fake.detach().cpu()
    if len(fake) < 2:
        raise MetricUnavailable(f"FID needs at least 2 generated samples; got {len(fake)}. Raise --eval-samples.")
    if len(reference["mu"]) != fake.shape[1]:
        raise MetricUnavailable(
            f"The reference statistics are of {len(reference['mu'])} features and the generated images have "
            f"{fake.shape[1]}: they come from another feature extractor (pytorch-fid and clean-fid files hold "
            "Inception pool3 statistics, 2048 features). Pass statistics of this metric's features."
        )
    return {"fid": frechet_distance(fake, reference, f"{len(fake)} generated samples and the reference statistics")}


def frechet_distance(fake: torch.Tensor, reference: Mapping[str, np.ndarray], samples: str) -> float:
    """The Frechet distance between ``fake`` features and the reference's mean and covariance, by torch-fidelity;
    MetricUnavailable when rounding makes it negative (``samples`` says what it was computed from)."""
    fake_stats = fid_features_to_statistics(fake)  # mu in the features' float32, sigma in float64
    # torch-fidelity wants each pair in one dtype, and a file's may differ (pytorch-fid writes float64 mu)
    fake_stats, reference = _same_dtypes(fake_stats, reference)
    distance = float(fid_statistics_to_metric(fake_stats, reference, verbose=False)[KEY_METRIC_FID])
    # FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2)): its rounding error grows with the traces
    scale = float(fake_stats["sigma"].trace() + reference["sigma"].trace())
    if not math.isfinite(distance) or distance < -FID_TOLERANCE * max(scale, 1.0):
        raise MetricUnavailable(
            f"FID came out as {distance}, which no distance can be: the covariances of {samples} of "
            f"{fake.shape[1]} features are too degenerate to compare. Evaluate with more samples (--eval-samples, "
            "--reference-samples)."
        )
    return max(distance, 0.0)


def _same_dtypes(
    first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The two statistics with each array in the wider of its two dtypes (unchanged where they agree)."""
    dtypes = {key: np.result_type(first[key], second[key]) for key in ("mu", "sigma")}
    return tuple({key: stats[key].astype(dtypes[key], copy=False) for key in dtypes} for stats in (first, second))


def kid(inputs: MetricInput) -> dict[str, float]:
    """KID over 100 random subsets of min(1000, n/2) samples from each side (n: the smaller side).

    Subsets of at most half the samples differ from each other, so ``kid_std`` measures
    something; subsets of all the samples would all be the same set, with a std of 0.
    """
    fake, real = fake_and_real(inputs, "KID")
    value = kid_features_to_metric(
        fake,
        real,
        kid_subsets=KID_SUBSETS,
        kid_subset_size=kid_subset_size(len(fake), len(real)),
        rng_seed=inputs.seed,
        verbose=False,
    )
    return {"kid": value[KEY_METRIC_KID_MEAN], "kid_std": value[KEY_METRIC_KID_STD]}


def prc(inputs: MetricInput) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with balls around each sample's 3rd nearest neighbour.

    Precision: the share of generated samples inside some reference sample's ball; recall: the share of reference
    samples inside some generated sample's ball; ``prc``, the headline: their harmonic mean (F-score).
    """
    fake, real = fake_and_real(inputs, "Precision and recall", minimum=PRC_NEIGHBOURHOOD + 1)
    value = prc_features_to_metric(
        fake,
        real,
        prc_neighborhood=PRC_NEIGHBOURHOOD,
        prc_batch_size=PRC_BATCH_SIZE,
        save_cpu_ram=True,
        verbose=False,
    )
    return {  # the headline, the F-score, under the metric's own name, as the leaderboard looks it up
        "prc": value[KEY_METRIC_F_SCORE],
        "prc_precision": value[KEY_METRIC_PRECISION],
        "prc_recall": value[KEY_METRIC_RECALL],
    }


def inception_score(inputs: MetricInput) -> dict[str, float]:
    """IS over 10 splits of the shuffled samples (one split per sample when there are fewer)."""
    fake = inputs.fake.detach().cpu()
    if len(fake) < 1:
        raise MetricUnavailable("IS needs at least one generated sample; got none.")
    value = isc_features_to_metric(fake, splits=min(IS_SPLITS, len(fake)), shuffle=True, rng_seed=inputs.seed)
    score = float(value[KEY_METRIC_ISC_MEAN])
    if not math.isfinite(score) or score < 1 - IS_TOLERANCE:
        raise MetricUnavailable(
            f"IS came out as {score}, below its minimum of 1: the logits are not a classifier's (wrong weights or "
            "wrong layer). Check --inception-weights."
        )
    return {"is": score, "is_std": value[KEY_METRIC_ISC_STD]}


def kid_subset_size(n_fake: int, n_real: int) -> int:
    return max(2, min(KID_SUBSET_SIZE, min(n_fake, n_real) // 2))


def fake_and_real(inputs: MetricInput, metric: str, minimum: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The generated and reference features on the CPU, or MetricUnavailable when either side has < ``minimum``."""
    # a covariance (FID) and the unbiased MMD estimate (KID) are undefined for fewer than 2 samples; a sample's
    # k-th nearest neighbour (precision/recall) for fewer than k + 1
    if inputs.real is None:
        raise MetricUnavailable(f"{metric} compares with reference features, and none were given.")
    fake, real = inputs.fake.detach().cpu(), inputs.real.detach().cpu()
    if len(fake) < minimum or len(real) < minimum:
        raise MetricUnavailable(
            f"{metric} needs at least {minimum} generated and {minimum} reference samples; got {len(fake)} and "
            f"{len(real)}. Evaluate with more samples (--eval-samples, --reference-samples)."
        )
    return fake, real


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="fid",
            description="Frechet Inception Distance (Heusel et al. 2017); biased upwards below 10k samples.",
            extractor=EXTRACTOR,
            feature=POOL3,
            compute=fid,
            from_statistics=fid_from_statistics,
            biased_below=UNBIASED_SAMPLES,
            estimates_covariance=True,
        ),
        MetricSpec(
            name="kid",
            description="Kernel Inception Distance (Binkowski et al. 2018): mean and std over 100 subsets.",
            extractor=EXTRACTOR,
            feature=POOL3,
            compute=kid,
        ),
        MetricSpec(
            name="prc",
            description="Improved precision and recall (Kynkaanniemi et al. 2019; k=3) on pool3 features, where the "
            "paper used VGG-16's: prc (their F-score), prc_precision, prc_recall.",
            extractor=EXTRACTOR,
            feature=POOL3,
            compute=prc,
            higher_is_better=True,
            biased_below=UNBIASED_SAMPLES,
        ),
        MetricSpec(
            name="is",
            description="Inception Score (Salimans et al. 2016): mean and std over 10 splits; needs the full weights.",
            extractor=EXTRACTOR,
            feature=LOGITS,
            compute=inception_score,
            needs_reference=False,
            higher_is_better=True,
        ),
    ]
