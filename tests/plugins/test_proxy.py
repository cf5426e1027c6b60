"""The proxy classifier (trained on the run's training split, cached) and its metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import ganbench_plugins.fidelity as fidelity
import ganbench_plugins.proxy as proxy
from ganbench import ModelRequest
from ganbench.data.images import TensorImageDataset, to_uint8_rgb
from ganbench.errors import ConfigError, MetricUnavailable
from ganbench.evaluation.evaluator import Evaluator
from ganbench.specs import DatasetRequest, ExtractorRequest, MetricInput
from ganbench_plugins.dcgan import build_cdcgan, build_dcgan
from ganbench_plugins.shapes import SHAPES, build_shapes

CHANCE = 1 / len(SHAPES)
# 1,200 images (1,080 trained on, 120 held out), 6 epochs: about 7 s on one core, held-out accuracy 0.69 here.
# The full budget on the 10k-image split reaches about 0.99. 0.5 is 5.5 times chance (1/11) and well below what
# this fixed seed reaches (other CPUs' arithmetic may move it a little), so only a classifier that does not
# learn the shapes fails it.
SMALL_SIZE = 1200
SMALL_EPOCHS = 6
MIN_HELDOUT_ACCURACY = 0.5


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # two threads on two busy cores spin-wait on each other (training ran 5x slower here); as conftest under xdist
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def shapes(split: str = "train", size: int = SMALL_SIZE, seed: int = 0) -> TensorImageDataset:
    return build_shapes(DatasetRequest(split, 32, None, Path("unused"), {"seed": seed, "size": size}))


def key(split: str = "train", size: int = SMALL_SIZE, seed: int = 0) -> dict:
    return {
        "dataset": "shapes",
        "split": split,
        "resolution": 32,
        "options": {"seed": seed, "size": size},
        "data_dir": None,
        "data": f"shapes[size={size}]/{split}",
    }


def request(cache_dir: Path, dataset, training_key: dict) -> ExtractorRequest:
    return ExtractorRequest(torch.device("cpu"), cache_dir, training_set=dataset, training_key=training_key)


def rgb(dataset, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n images of ``dataset`` as the evaluator hands them to extractors, and their labels."""
    n = len(dataset) if n is None else n
    images = torch.stack([dataset[i][0] for i in range(n)])
    return to_uint8_rgb(images), torch.tensor([dataset[i][1] for i in range(n)])


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("proxy-cache")


@pytest.fixture(scope="module")
def classifier(cache) -> proxy.ProxyClassifier:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proxy, "EPOCHS", SMALL_EPOCHS)
        return proxy.build_extractor(request(cache, shapes(), key()))


@pytest.fixture(scope="module")
def test_images() -> tuple[torch.Tensor, torch.Tensor]:
    return rgb(shapes("test", 300))


def fake_train(calls: list):
    def train(dataset, name="the dataset"):
        calls.append(len(dataset))
        return proxy.ProxyNet(dataset.num_classes), {
            "heldout_accuracy": 0.5,
            "n_heldout": 1,
            "train_images": 0,
            "train_seconds": 0.0,
        }

    return train


# --------------------------------------------------------------------------- the classifier


def test_trains_on_shapes_well_above_chance(classifier, cache) -> None:
    assert classifier.trained
    assert classifier.n_heldout == SMALL_SIZE // 10
    assert classifier.heldout_accuracy >= MIN_HELDOUT_ACCURACY
    (path,) = (cache / "proxy").glob("*.pt")
    assert path == classifier.path and path.name.startswith("shapes-32px-")
    saved = torch.load(path, weights_only=True)
    assert saved["heldout_accuracy"] == classifier.heldout_accuracy
    assert proxy.weights_hash(saved["state"]) == classifier.weights_hash


@pytest.mark.parametrize("resolution", [32, 64])
def test_features_and_logits(classifier, test_images, resolution) -> None:
    images = torch.nn.functional.interpolate(test_images[0][:5], size=resolution, mode="nearest")
    out = classifier(images)
    assert set(out) == set(classifier.features) == {"proxy_features", "proxy_logits"}
    assert out["proxy_features"].shape == (5, 128) and out["proxy_logits"].shape == (5, len(SHAPES))
    assert all(value.dtype == torch.float32 and value.device.type == "cpu" for value in out.values())


def test_input_is_scaled_to_signed_unit_and_resized_to_32_with_antialiasing() -> None:
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(proxy.preprocess(images[..., :32, :32]), images[..., :32, :32].float() / 127.5 - 1)
    expected = torch.nn.functional.interpolate(images.float() / 127.5 - 1, size=32, mode="bilinear", antialias=True)
    assert torch.allclose(proxy.preprocess(images), expected)


def test_the_cache_is_reused(classifier, cache, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(proxy, "train", fake_train(calls))
    monkeypatch.setattr(proxy, "EPOCHS", SMALL_EPOCHS)
    again = proxy.build_extractor(request(cache, shapes(), key()))
    assert calls == [] and not again.trained
    assert again.weights_hash == classifier.weights_hash and again.heldout_accuracy == classifier.heldout_accuracy


def test_the_cache_is_keyed_by_the_training_split_and_the_budget(tmp_path, monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(proxy, "train", fake_train(calls))
    dataset = shapes(size=40)
    first = proxy.build_extractor(request(tmp_path, dataset, key(size=40)))
    proxy.build_extractor(request(tmp_path, dataset, key(size=40)))
    assert calls == [40]
    other = proxy.build_extractor(request(tmp_path, dataset, key(size=40, seed=1)))
    assert len(calls) == 2 and other.path != first.path
    monkeypatch.setattr(proxy, "MAX_TRAIN_IMAGES", 1000)
    proxy.build_extractor(request(tmp_path, dataset, key(size=40)))
    assert len(calls) == 3


@pytest.mark.parametrize("damage", [b"", b"not a torch file", "truncate", "other key"])
def test_a_damaged_cache_is_retrained(tmp_path, monkeypatch, damage) -> None:
    calls: list = []
    monkeypatch.setattr(proxy, "train", fake_train(calls))
    dataset = shapes(size=40)
    path = proxy.build_extractor(request(tmp_path, dataset, key(size=40))).path
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "other key":  # a file in the right place that was written for something else
        saved = torch.load(path, weights_only=True)
        torch.save({**saved, "key": saved["key"].replace('"size": 40', '"size": 41')}, path)
    else:
        path.write_bytes(damage)
    rebuilt = proxy.build_extractor(request(tmp_path, dataset, key(size=40)))
    assert len(calls) == 2 and rebuilt.trained
    assert torch.load(path, weights_only=True)["format"] == proxy.FORMAT  # the cache was rewritten whole


def test_training_is_deterministic_and_leaves_the_callers_state_alone(monkeypatch) -> None:
    monkeypatch.setattr(proxy, "MAX_TRAIN_IMAGES", 256)
    dataset = shapes(size=200)
    torch.manual_seed(99)
    before = torch.get_rng_state()
    torch.set_num_threads(2)
    try:
        first, record = proxy.train(dataset)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert torch.equal(torch.get_rng_state(), before)
    second, _ = proxy.train(dataset)  # the caller's thread count does not change the weights either
    assert record["train_images"] == 256 and record["n_heldout"] == 20
    one, two = first.state_dict(), second.state_dict()
    assert all(torch.equal(one[name], two[name]) for name in one)
    assert proxy.weights_hash(one) == proxy.weights_hash(two)
    assert proxy.weights_hash(one) != proxy.weights_hash(proxy.ProxyNet(len(SHAPES)).state_dict())


def _unlabelled(num_classes: int) -> TensorImageDataset:
    images = torch.zeros(8, 3, 32, 32, dtype=torch.uint8)
    labels = torch.full((8,), -1 if num_classes == 0 else 0)
    return TensorImageDataset(images, labels, [f"c{i}" for i in range(num_classes)], 32)


@pytest.mark.parametrize("num_classes", [0, 1])
def test_an_unlabelled_training_set_is_refused_clearly(tmp_path, num_classes) -> None:
    training_key = {**key(), "dataset": "cards"}
    with pytest.raises(ConfigError, match=r"cards.*class.*Inception metrics \(fid, kid, is\)"):
        proxy.build_extractor(request(tmp_path, _unlabelled(num_classes), training_key))
    with pytest.raises(ConfigError, match="no training set"):
        proxy.build_extractor(request(tmp_path, None, training_key))
    assert not (tmp_path / "proxy").exists()


def test_labels_outside_the_classes_are_refused(tmp_path) -> None:
    dataset = _unlabelled(2)
    dataset.labels[3] = -1
    with pytest.raises(ConfigError, match="label -1 outside 0..1"):
        proxy.build_extractor(request(tmp_path, dataset, key()))


# --------------------------------------------------------------------------- metrics


def test_proxy_acc_is_high_for_true_classes_and_chance_for_shuffled_ones(classifier, test_images) -> None:
    images, labels = test_images
    logits = classifier(images)["proxy_logits"]
    right = proxy.proxy_accuracy(MetricInput(logits, None, 0, fake_labels=labels))
    assert right["proxy_acc"] >= MIN_HELDOUT_ACCURACY
    assert right["proxy_acc_chance"] == pytest.approx(CHANCE)
    assert list(right) == ["proxy_acc", "proxy_acc_chance"]  # the headline value first
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    # 300 images: the accuracy of unrelated labels is about 1/11 +- 0.02
    assert proxy.proxy_accuracy(MetricInput(logits, None, 0, fake_labels=shuffled))["proxy_acc"] < 0.2


def test_proxy_acc_is_unavailable_for_an_unconditional_model(classifier, test_images) -> None:
    logits = classifier(test_images[0][:10])["proxy_logits"]
    with pytest.raises(MetricUnavailable, match="unconditional: no requested classes"):
        proxy.proxy_accuracy(MetricInput(logits, None, 0, fake_labels=None))


def test_proxy_fid_kid_and_prc_tell_a_set_with_itself_from_other_images_from_noise(
    classifier, test_images, monkeypatch
) -> None:
    real = classifier(test_images[0])["proxy_features"]
    other = classifier(rgb(shapes("train", 300, seed=5))[0])["proxy_features"]
    noise_images = torch.randint(
        0, 256, (300, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    noise = classifier(noise_images)["proxy_features"]
    fid = {
        name: proxy.proxy_fid(MetricInput(f, real, 0))["proxy_fid"]
        for name, f in {"self": real, "other": other, "noise": noise}.items()
    }
    assert abs(fid["self"]) < 1e-6
    assert 0 < fid["other"] < fid["noise"] / 5
    # KID's cost grows with n squared, and numpy's BLAS threads crawl on busy cores: fewer samples and subsets
    monkeypatch.setattr(fidelity, "KID_SUBSETS", 10)
    kid_other = proxy.proxy_kid(MetricInput(other[:100], real[:100], 0))
    kid_noise = proxy.proxy_kid(MetricInput(noise[:100], real[:100], 0))
    assert list(kid_other) == ["proxy_kid", "proxy_kid_std"]
    assert kid_other["proxy_kid"] < kid_noise["proxy_kid"]
    prc = {
        name: proxy.proxy_prc(MetricInput(f, real, 0))
        for name, f in {"self": real, "other": other, "noise": noise}.items()
    }
    assert prc["self"] == {"proxy_prc": 1.0, "proxy_prc_precision": 1.0, "proxy_prc_recall": 1.0}
    shared = fidelity.prc(MetricInput(other, real, 0))
    assert prc["other"] == {
        "proxy_prc": shared["prc"],
        "proxy_prc_precision": shared["prc_precision"],
        "proxy_prc_recall": shared["prc_recall"],
    }
    assert prc["noise"]["proxy_prc"] < prc["other"]["proxy_prc"]


def test_proxy_is_of_varied_real_images_exceeds_that_of_noise(classifier, test_images) -> None:
    real = proxy.proxy_is(MetricInput(classifier(test_images[0])["proxy_logits"], None, 0))
    assert list(real) == ["proxy_is", "proxy_is_std"]
    assert 1 < real["proxy_is"] <= len(SHAPES)
    constant = torch.full((50, 3, 32, 32), 128, dtype=torch.uint8)
    assert proxy.proxy_is(MetricInput(classifier(constant)["proxy_logits"], None, 0))["proxy_is"] == pytest.approx(1)


def test_metrics_are_registered_and_run_through_the_evaluator(registry, classifier, tmp_path) -> None:
    names = ["proxy-fid", "proxy-kid", "proxy-prc", "proxy-is", "proxy-acc"]
    specs = [registry.get("metric", name) for name in names]
    assert {spec.extractor for spec in specs} == {"proxy"}
    assert [spec.needs_reference for spec in specs] == [True, True, True, False, True]
    assert [spec.higher_is_better for spec in specs] == [False, False, True, True, True]
    assert registry.get("feature extractor", "proxy").build is proxy.build_extractor
    reference = shapes("test", 60)
    evaluator = Evaluator(
        specs,
        {"proxy": lambda request: classifier},
        reference,
        key("test", 60),
        training_set=shapes(),
        training_key=key(),
        n_generated=40,
        n_reference=60,
        seed=0,
        device=torch.device("cpu"),
        cache_dir=tmp_path,
    )
    torch.manual_seed(0)
    conditional = build_cdcgan(ModelRequest(32, 3, len(SHAPES), 16, {"width": 8, "embedding_dim": 4}))
    results = {result.metric: result for result in evaluator.evaluate(conditional, batch_size=20)}
    assert all(results[name].values for name in names), {n: r.unavailable for n, r in results.items()}
    assert results["proxy-acc"].protocol.weights_hash == classifier.weights_hash
    assert results["proxy-acc"].values["proxy_acc_chance"] == pytest.approx(CHANCE)
    real_logits = classifier(to_uint8_rgb(torch.stack([reference[i][0] for i in evaluator.reference_indices()])))
    real_labels = torch.tensor([reference[i][1] for i in evaluator.reference_indices()])
    real_accuracy = (real_logits["proxy_logits"].argmax(1) == real_labels).double().mean().item()
    assert results["proxy-acc"].values["proxy_acc_real"] == pytest.approx(real_accuracy)  # on the reference images
    # 40 generated and 60 reference samples of 128 features: FID's covariances are rank-deficient, and FID and
    # precision/recall are biased below 10k samples; KID's estimate is unbiased
    assert [flag.split(":")[0] for flag in results["proxy-fid"].flags] == [
        "rank-deficient covariance",
        "biased by the sample count",
    ]
    assert "(128 dims)" in results["proxy-fid"].flags[0]
    assert [flag.split(":")[0] for flag in results["proxy-prc"].flags] == ["biased by the sample count"]
    assert results["proxy-kid"].flags == results["proxy-acc"].flags == ()
    unconditional = build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8}))
    results = {result.metric: result for result in evaluator.evaluate(unconditional, batch_size=20)}
    assert results["proxy-acc"].values is None and "unconditional" in results["proxy-acc"].unavailable
    assert results["proxy-fid"].values is not None
