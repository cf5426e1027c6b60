"""proxy-diversity: the variety of generated images within each class, over that of the real ones."""

import pytest
import torch

from ganbench.errors import MetricUnavailable
from ganbench.specs import MetricInput
from ganbench_plugins.diversity import intra_class_diversity, mean_pairwise_distance

LABELS = torch.arange(3).repeat_interleave(20)  # 3 classes, 20 images each


@pytest.fixture
def real() -> torch.Tensor:
    return torch.randn(60, 16, generator=torch.Generator().manual_seed(0)) + 5 * LABELS[:, None]


def test_the_mean_pairwise_distance_counts_each_distinct_pair_once():
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0]])
    assert mean_pairwise_distance(points) == pytest.approx((5 + 8 + 5) / 3)


def test_images_as_varied_as_the_real_ones_score_1(real):
    values = intra_class_diversity(MetricInput(real, real, 0, fake_labels=LABELS, real_labels=LABELS))
    assert values == pytest.approx({"proxy_diversity": 1.0, "proxy_diversity_min": 1.0})
    assert list(values) == ["proxy_diversity", "proxy_diversity_min"]  # the headline first


def test_one_image_per_class_scores_0_and_a_collapsed_class_shows_in_the_minimum(real):
    one_per_class = real[LABELS * 20]  # the first real image of each class, repeated
    collapsed = intra_class_diversity(MetricInput(one_per_class, real, 0, fake_labels=LABELS, real_labels=LABELS))
    assert collapsed == {"proxy_diversity": 0.0, "proxy_diversity_min": 0.0}
    one_class_collapsed = torch.where((LABELS == 1)[:, None], one_per_class, real)
    values = intra_class_diversity(MetricInput(one_class_collapsed, real, 0, fake_labels=LABELS, real_labels=LABELS))
    assert values == pytest.approx({"proxy_diversity": 2 / 3, "proxy_diversity_min": 0.0})


def test_half_the_spread_scores_one_half_whatever_the_offset_between_classes(real):
    centres = torch.stack([real[LABELS == c].mean(0) for c in range(3)])[LABELS]
    shrunk = centres + 0.5 * (real - centres) + 100.0  # every class moved far away: FID would see it, this must not
    values = intra_class_diversity(MetricInput(shrunk, real, 0, fake_labels=LABELS, real_labels=LABELS))
    assert values == pytest.approx({"proxy_diversity": 0.5, "proxy_diversity_min": 0.5})


def test_it_is_unavailable_without_classes_or_with_too_few_images_per_class(real):
    with pytest.raises(MetricUnavailable, match="unconditional"):
        intra_class_diversity(MetricInput(real, real, 0, fake_labels=None, real_labels=LABELS))
    with pytest.raises(MetricUnavailable, match="labelled reference images"):
        intra_class_diversity(MetricInput(real, real, 0, fake_labels=LABELS, real_labels=None))
    with pytest.raises(MetricUnavailable, match="labelled reference images"):
        intra_class_diversity(MetricInput(real, real, 0, fake_labels=LABELS, real_labels=torch.full((60,), -1)))
    one_each = torch.arange(3)
    with pytest.raises(MetricUnavailable, match="Raise --eval-samples"):
        intra_class_diversity(MetricInput(real[:3], real, 0, fake_labels=one_each, real_labels=LABELS))


def test_it_is_registered_on_the_proxy_classifiers_features(registry):
    spec = registry.get("metric", "proxy-diversity")
    assert (spec.extractor, spec.feature, spec.higher_is_better) == ("proxy", "proxy_features", True)
    assert spec.compute is intra_class_diversity
