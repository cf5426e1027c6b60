"""Intra-class FID and KID (ifid, ikid, proxy-ifid, proxy-ikid): each class against the reference images of it."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.proxy as proxy
from ganbench.errors import MetricUnavailable
from ganbench.evaluation.evaluator import sample_count_flags
from ganbench.specs import MetricInput
from ganbench_plugins.intra_class import ifid, ikid, proxy_ifid, proxy_ikid
from tests.support.models import one_thread

LABELS = torch.arange(3).repeat_interleave(30)  # 3 classes, 30 images each
SWAPPED = torch.tensor([1, 0, 2])[LABELS]  # asked for class 0, it draws class 1, and the other way round
SEED = 7


@pytest.fixture
def real() -> torch.Tensor:
    """Three well separated clusters of 8 features, one per class, each moved along its own axis."""
    noise = torch.randn(90, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return noise + 4 * torch.eye(8, dtype=torch.float64)[LABELS]


def labelled(fake: torch.Tensor, real: torch.Tensor, fake_labels: torch.Tensor = LABELS) -> MetricInput:
    return MetricInput(fake, real, SEED, fake_labels=fake_labels, real_labels=LABELS)


def test_the_same_features_per_class_give_an_intra_class_fid_of_zero(real) -> None:
    values = ifid(labelled(real, real))
    assert list(values) == ["ifid", "ifid_max", "ifid_classes"]  # the headline first
    assert values == pytest.approx({"ifid": 0.0, "ifid_max": 0.0, "ifid_classes": 3.0}, abs=1e-9)


def test_it_is_the_mean_and_the_worst_of_each_classs_fid(real) -> None:
    fake = real + torch.tensor([0.0, 1.0, 3.0])[LABELS, None]  # class 1 moved a little, class 2 far
    by_class = [fidelity.fid(MetricInput(fake[LABELS == c], real[LABELS == c], SEED))["fid"] for c in range(3)]
    assert by_class[0] == pytest.approx(0.0, abs=1e-9) and 0 < by_class[1] < by_class[2]
    values = ifid(labelled(fake, real))
    assert values == pytest.approx({"ifid": sum(by_class) / 3, "ifid_max": by_class[2], "ifid_classes": 3.0})


def test_a_generator_that_draws_the_wrong_class_fools_fid_but_not_intra_class_fid_or_kid(real) -> None:
    swapped = labelled(real, real, fake_labels=SWAPPED)  # every image real, classes 0 and 1 drawn for each other
    assert fidelity.fid(swapped)["fid"] == pytest.approx(0.0, abs=1e-9)  # one set, whatever the classes asked
    values = ifid(swapped)
    assert values["ifid_max"] > 20 and values["ifid"] == pytest.approx(2 * values["ifid_max"] / 3, rel=0.2)
    assert ikid(swapped)["ikid"] > 5 * abs(ikid(labelled(real, real))["ikid"])
    assert proxy_ifid(swapped)["proxy_ifid"] == pytest.approx(values["ifid"])


def test_intra_class_kid_is_each_classs_kid_with_the_runs_seed(real) -> None:
    fake = real + torch.tensor([0.0, 0.5, 2.0])[LABELS, None]
    by_class = [fidelity.kid(MetricInput(fake[LABELS == c], real[LABELS == c], SEED))["kid"] for c in range(3)]
    values = ikid(labelled(fake, real))
    assert values == pytest.approx({"ikid": sum(by_class) / 3, "ikid_max": max(by_class), "ikid_classes": 3.0})
    assert proxy_ikid(labelled(fake, real)) == pytest.approx(
        {"proxy_ikid": values["ikid"], "proxy_ikid_max": values["ikid_max"], "proxy_ikid_classes": 3.0}
    )


@pytest.mark.parametrize("metric", [ifid, ikid, proxy_ifid, proxy_ikid])
def test_it_is_unavailable_without_classes_on_either_side(metric, real) -> None:
    with pytest.raises(MetricUnavailable, match="model is unconditional: evaluate a class-conditional model"):
        metric(MetricInput(real, real, SEED, fake_labels=None, real_labels=LABELS))
    for unlabelled in (None, torch.full((90,), -1)):
        with pytest.raises(MetricUnavailable, match="needs reference images with class labels.*labelled dataset"):
            metric(MetricInput(real, real, SEED, fake_labels=LABELS, real_labels=unlabelled))


def test_a_class_with_fewer_than_two_images_on_either_side_is_refused_by_name(real) -> None:
    one_of_class_1 = LABELS.clone()
    one_of_class_1[31:60] = 0  # class 1 asked for once
    with pytest.raises(MetricUnavailable, match=r"1 of 3 classes have fewer \(class 1: 1 and 30\).*--eval-samples"):
        ifid(labelled(real, real, fake_labels=one_of_class_1))
    unseen_class = LABELS.clone()
    unseen_class[:5] = 3  # a class the reference images do not have
    with pytest.raises(MetricUnavailable, match=r"1 of 4 classes have fewer \(class 3: 5 and 0\)"):
        ikid(labelled(real, real, fake_labels=unseen_class))


def test_a_class_whose_fid_cannot_be_computed_is_named(real, monkeypatch) -> None:
    def refuses(inputs: MetricInput) -> dict[str, float]:
        raise MetricUnavailable("FID came out as -3.2")

    monkeypatch.setattr(fidelity, "fid", refuses)
    with pytest.raises(MetricUnavailable, match="^Intra-class FID, class 0: FID came out as -3.2"):
        ifid(labelled(real, real))


def test_they_are_registered_per_class_on_pool3_and_the_proxy_features(registry) -> None:
    specs = {name: registry.get("metric", name) for name in ("ifid", "ikid", "proxy-ifid", "proxy-ikid")}
    assert [spec.compute for spec in specs.values()] == [ifid, ikid, proxy_ifid, proxy_ikid]
    assert {(spec.extractor, spec.feature) for name, spec in specs.items() if name.startswith("proxy-")} == {
        (proxy.NAME, proxy.FEATURES)
    }
    assert {(specs[name].extractor, specs[name].feature) for name in ("ifid", "ikid")} == {
        ("inception-v3-compat", "2048")
    }
    assert all(spec.per_class and spec.needs_reference and not spec.higher_is_better for spec in specs.values())
    # FID's caveats, KID's none: as the whole-set metrics declare them
    for name in ("ifid", "proxy-ifid"):
        assert specs[name].estimates_covariance and specs[name].biased_below == 10_000
    for name in ("ikid", "proxy-ikid"):
        assert not (specs[name].estimates_covariance or specs[name].biased_below)


def test_the_sample_count_caveats_of_intra_class_fid_come_from_its_smallest_class(registry) -> None:
    spec = registry.get("metric", "ifid")
    fake_labels = torch.cat([torch.zeros(11_000), torch.ones(12_000)]).long()  # 23k in all, 11k of class 0
    real_labels = torch.cat([torch.zeros(15_000), torch.ones(900)]).long()
    (flag,) = sample_count_flags(spec, 23_000, 15_900, 128, fake_labels, real_labels)
    assert flag.startswith("biased by the sample count: 900 reference samples in the smallest class < 10000")
    # the totals alone would pass: FID of 900 images of a class is as biased as FID of 900 images
    assert sample_count_flags(replace(spec, per_class=False), 23_000, 15_900, 128, fake_labels, real_labels) == ()


@pytest.mark.slow
def test_a_short_run_of_a_conditional_model_on_shapes_reports_them(tmp_path) -> None:
    import ganbench

    with one_thread():
        result = ganbench.train(
            model="cdcgan",
            dataset="shapes",
            steps=2,
            eval_every=2,
            metrics=["proxy-ifid", "proxy-ikid", "proxy-dc"],  # one proxy pass shared by the three
            eval_samples=176,  # 11 classes: about 16 images of each, asked for at random
            reference_samples=132,
            batch_size=16,
            grid_size=16,
            dataset_options={"size": 256},
            model_options={"width": 8},
            results_dir=str(tmp_path / "results"),
            quiet=True,
        )
    assert result.unavailable == {}
    results = {r.metric: r for r in result.evaluations[-1].results}
    assert results["proxy-ifid"].values["proxy_ifid_classes"] == 11
    assert 0 < results["proxy-ifid"].values["proxy_ifid"] <= results["proxy-ifid"].values["proxy_ifid_max"]
    assert 0 <= results["proxy-dc"].values["proxy_dc"] <= 1
    # each class's FID is biased and its covariance rank-deficient: flagged from the smallest class's counts
    assert all("in the smallest class" in flag for flag in results["proxy-ifid"].flags)
    assert [flag.split(":")[0] for flag in results["proxy-ifid"].flags] == [
        "rank-deficient covariance",
        "biased by the sample count",
    ]
    assert results["proxy-ikid"].flags == ()
