import pytest
import torch
from optuna.distributions import BaseDistribution, CategoricalDistribution

from ganbench import Regularizer

NAMES = ("gp", "r1", "clip", "diffaugment", "instance-noise", "mode-seeking", "lecam", "cr", "ada")


def contains(distribution: BaseDistribution, value: object) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    return distribution.low <= value <= distribution.high


@pytest.mark.parametrize("name", NAMES)
def test_registered_builds_with_its_defaults_and_searches_only_its_options(registry, name):
    spec = registry.get("regularizer", name)
    assert spec.name == name and "20" in spec.description and "\n" not in spec.description  # names its paper's year
    assert set(spec.search_space) <= set(spec.options)
    assert all(contains(distribution, spec.options[key]) for key, distribution in spec.search_space.items())
    regularizer = spec.build(dict(spec.options))
    assert isinstance(regularizer, Regularizer)
    images = torch.zeros(2, 1, 8, 8)
    assert regularizer.augment(images).shape == images.shape
