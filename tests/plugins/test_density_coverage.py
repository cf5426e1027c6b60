"""Density and coverage (dc, proxy-dc): the numbers of the authors' ``prdc`` package, in bounded memory."""

from __future__ import annotations

import pytest
import torch
from prdc import compute_prdc

import ganbench_plugins.density_coverage as density_coverage
from ganbench.errors import MetricUnavailable
from ganbench.specs import MetricInput
from ganbench_plugins.density_coverage import dc, density_and_coverage, proxy_dc

SEED = 7


def gaussian(n: int, dim: int = 16, scale: float = 1.0, shift: float = 0.0, seed: int = 0) -> torch.Tensor:
    # float64, so distances at a ball's edge round as in prdc's (float64) scikit-learn distances
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=generator, dtype=torch.float64) * scale + shift


@pytest.mark.parametrize(
    ("fake", "real"),
    [
        (gaussian(300, scale=1.2, shift=0.3, seed=1), gaussian(400, seed=2)),
        (gaussian(250, scale=0.5, shift=0.5, seed=3), gaussian(200, seed=4)),  # narrower: denser, covers less
        (gaussian(200, dim=64, shift=0.1, seed=5), gaussian(200, dim=64, seed=6)),
    ],
)
def test_density_and_coverage_are_prdcs(fake: torch.Tensor, real: torch.Tensor) -> None:
    expected = compute_prdc(real_features=real.numpy(), fake_features=fake.numpy(), nearest_k=5)
    values = dc(MetricInput(fake=fake, real=real, seed=SEED))
    assert list(values) == ["dc", "dc_density"], "the headline, coverage, under the metric's name, comes first"
    assert values["dc"] == pytest.approx(expected["coverage"], abs=1e-5)
    assert values["dc_density"] == pytest.approx(expected["density"], abs=1e-5)
    assert 0 < values["dc"] < 1 and values["dc_density"] > 0


def test_distances_are_computed_a_bounded_number_of_rows_at_a_time(monkeypatch) -> None:
    fake, real = gaussian(50, seed=1), gaussian(70, seed=2)
    whole = density_and_coverage(fake, real)
    blocks: list[tuple[int, int]] = []

    def recording(rows: torch.Tensor, features: torch.Tensor, batch_size: int) -> torch.Tensor:
        distances = torch.cdist(rows, features)
        blocks.append(tuple(distances.shape))
        return distances

    monkeypatch.setattr(density_coverage, "calc_cdist_part", recording)
    assert density_and_coverage(fake, real, batch_size=16) == pytest.approx(whole, abs=1e-12)
    assert blocks and max(rows for rows, _ in blocks) == 16  # never 70 x 70 or 70 x 50 at once


def test_a_set_against_itself_is_fully_covered_at_density_one() -> None:
    features = gaussian(200)
    values = dc(MetricInput(fake=features, real=features, seed=SEED))
    assert values["dc"] == 1.0
    assert values["dc_density"] == pytest.approx(1.0, abs=1e-9)  # each ball holds its centre and 4 of the k=5


def test_a_collapsed_generator_covers_little_and_a_far_one_nothing() -> None:
    real = gaussian(300, seed=1)
    matching = dc(MetricInput(fake=gaussian(300, seed=2), real=real, seed=SEED))
    collapsed = dc(MetricInput(fake=real[:10].repeat(30, 1), real=real, seed=SEED))  # 10 real images, 30 times each
    assert matching["dc"] > 0.8 and collapsed["dc"] < 0.15
    far = dc(MetricInput(fake=gaussian(300, shift=100.0, seed=3), real=real, seed=SEED))
    assert far == {"dc": 0.0, "dc_density": 0.0}


def test_proxy_dc_is_dc_under_its_own_names() -> None:
    inputs = MetricInput(fake=gaussian(60, seed=1), real=gaussian(80, seed=2), seed=SEED)
    assert proxy_dc(inputs) == {"proxy_dc": dc(inputs)["dc"], "proxy_dc_density": dc(inputs)["dc_density"]}


@pytest.mark.parametrize(("n_fake", "n_real"), [(5, 50), (50, 5)])
def test_it_needs_more_samples_than_neighbours_on_each_side(n_fake: int, n_real: int) -> None:
    with pytest.raises(MetricUnavailable, match="at least 6 generated and 6 reference samples.*--eval-samples"):
        dc(MetricInput(fake=gaussian(n_fake, seed=1), real=gaussian(n_real, seed=2), seed=SEED))
    assert dc(MetricInput(fake=gaussian(6, seed=1), real=gaussian(6, seed=2), seed=SEED))["dc"] >= 0
    with pytest.raises(MetricUnavailable, match="reference features"):
        dc(MetricInput(fake=gaussian(50), real=None, seed=SEED))


def test_they_are_registered_on_pool3_and_the_proxy_features_as_biased_below_10k(registry) -> None:
    inception, on_proxy = registry.get("metric", "dc"), registry.get("metric", "proxy-dc")
    assert (inception.extractor, inception.feature, inception.compute) == ("inception-v3-compat", "2048", dc)
    assert (on_proxy.extractor, on_proxy.feature, on_proxy.compute) == ("proxy", "proxy_features", proxy_dc)
    for spec in (inception, on_proxy):
        assert spec.higher_is_better and spec.needs_reference and spec.biased_below == 10_000
        assert not (spec.estimates_covariance or spec.per_class)
