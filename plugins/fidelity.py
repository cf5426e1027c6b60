"""FID, KID, precision/recall and Inception Score on Inception-v3 features, computed by torch-fidelity's own functions.

ganbench extracts the features once (``inception-v3-compat``) and shares them between the
metrics; this module only hands them to torch-fidelity, so the numbers are torch-fidelity's.
"""

from __future__ import annotations

import math

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
    fake, real = _fake_and_real(inputs, "FID")
    fake_stats, real_stats = fid_features_to_statistics(fake), fid_features_to_statistics(real)
    distance = float(fid_statistics_to_metric(fake_stats, real_stats, verbose=False)[KEY_METRIC_FID])
    # FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2)): its rounding error grows with the traces
    scale = float(fake_stats["sigma"].trace() + real_stats["sigma"].trace())
    if not math.isfinite(distance) or distance < -FID_TOLERANCE * max(scale, 1.0):
        raise MetricUnavailable(
            f"FID came out as {distance}, which no distance can be: the covariances of {len(fake)} generated and "
            f"{len(real)} reference samples of {fake.shape[1]} features are too degenerate to compare. "
            "Evaluate with more samples (--eval-samples, --reference-samples)."
        )
    return {"fid": max(distance, 0.0)}


def kid(inputs: MetricInput) -> dict[str, float]:
    """KID over 100 random subsets of min(1000, n/2) samples from each side (n: the smaller side).

    Subsets of at most half the samples differ from each other, so ``kid_std`` measures
    something; subsets of all the samples would all be the same set, with a std of 0.
    """
    fake, real = _fake_and_real(inputs, "KID")
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
    fake, real = _fake_and_real(inputs, "Precision and recall", minimum=PRC_NEIGHBOURHOOD + 1)
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


def _fake_and_real(inputs: MetricInput, metric: str, minimum: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
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
