import pytest
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

from ganbench import MetricInput, MetricUnavailable
from ganbench_plugins.fd_infinity import fd_infinity, subset_sizes

DIMS = 64
TRUE_FID = 1.0  # |mu|^2 between two unit Gaussians with the same covariance


def _features(n: int, shift: float, seed: int) -> torch.Tensor:
    features = torch.randn(n, DIMS, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return features + shift / DIMS**0.5  # a shift of norm `shift` along the diagonal


def _fid(fake: torch.Tensor, real: torch.Tensor) -> float:
    stats = fid_features_to_statistics(fake), fid_features_to_statistics(real)
    return float(fid_statistics_to_metric(*stats, False)[KEY_METRIC_FID])


def test_the_subsets_follow_the_paper_from_a_tenth_to_all_samples():
    sizes = subset_sizes(50_000, 2048)
    assert sizes[0] == 5_000 and sizes[-1] == 50_000 and len(sizes) == 15
    # never fewer than 2 samples per dimension: below that the covariance breaks the 1/N law
    assert subset_sizes(10_000, 2048)[0] == 4096
    assert len(subset_sizes(140, 64)) == len(set(subset_sizes(140, 64)))  # a narrow range: no size twice


def test_fd_infinity_removes_the_small_sample_bias_that_fid_has():
    real = _features(40_000, 0.0, seed=0)  # reference statistics close to exact, as the paper's 50k
    fake = _features(1_000, TRUE_FID**0.5, seed=1)
    values = fd_infinity(MetricInput(fake, real, seed=0))
    fid = _fid(fake, real)
    assert fid - TRUE_FID > 0.5  # 1,000 samples of 64 dimensions bias FID upwards
    assert abs(values["fd_inf"] - TRUE_FID) < (fid - TRUE_FID) / 3
    assert values["fd_inf_slope"] > 0  # FID falls as the sample count grows


def test_fd_infinity_is_fixed_by_the_seed():
    real, fake = _features(2_000, 0.0, seed=0), _features(400, 1.0, seed=1)
    first, again = (fd_infinity(MetricInput(fake, real, seed=7)) for _ in range(2))
    assert first == again
    assert fd_infinity(MetricInput(fake, real, seed=8)) != first  # other random subsets


def test_too_few_samples_for_the_fit_are_refused_with_the_fix():
    real, fake = _features(1_000, 0.0, seed=0), _features(4 * DIMS - 1, 1.0, seed=1)
    with pytest.raises(MetricUnavailable, match="needs 256 samples of 64 features; got 255.*--eval-samples 256"):
        fd_infinity(MetricInput(fake, real, seed=0))
    assert fd_infinity(MetricInput(_features(4 * DIMS, 1.0, seed=1), real, seed=0))["fd_inf"] > 0


def test_fd_infinity_is_listed_on_inception_features(registry):
    spec = registry.get("metric", "fd-inf")
    assert (spec.extractor, spec.feature) == ("inception-v3-compat", "2048") and spec.estimates_covariance
    assert spec.compute is fd_infinity
