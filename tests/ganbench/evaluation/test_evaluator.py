from pathlib import Path

import torch

from ganbench import ModelRequest
from ganbench.data.images import to_uint8_rgb
from ganbench.evaluation.evaluator import Evaluator, generate, sample_count_flags
from ganbench.specs import MetricSpec
from ganbench_plugins.dcgan import build_dcgan
from tests.support.fast_plugin import PixelFeatures


class _CountingExtractor(PixelFeatures):
    def __init__(self) -> None:
        self.images_seen = 0

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.images_seen += images.shape[0]
        return super().__call__(images)


class _Reference:
    channels, num_classes, class_names = 3, 0, []

    def __init__(self, n: int = 40) -> None:
        self.images = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], -1


def _evaluator(registry, tmp_path: Path, extractor, split: str = "train") -> Evaluator:
    specs = [registry.get("metric", "pixel-fid"), registry.get("metric", "pixel-logits")]
    return _evaluator_of(specs, lambda request: extractor, tmp_path, split)


def _evaluator_of(
    specs, build, tmp_path: Path, split: str = "train", n_generated: int = 24, n_reference: int = 30, seed: int = 0
) -> Evaluator:
    """An evaluator of ``specs`` on noise images, with extractor ``build`` for the "pixels" extractor."""
    key = {"dataset": "noise", "split": split, "resolution": 32, "options": {}, "data_dir": None}
    key["data"] = f"noise/{split}"
    return Evaluator(
        specs,
        {"pixels": build},
        _Reference(),
        key,
        training_set=_Reference(),
        training_key={**key, "split": "train"},
        n_generated=n_generated,
        n_reference=n_reference,
        seed=seed,
        device=torch.device("cpu"),
        cache_dir=tmp_path,
    )


def _model():
    torch.manual_seed(0)
    return build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8}))


def test_reference_features_are_cached_and_keyed_by_split(registry, tmp_path):
    extractor = _CountingExtractor()
    evaluator, model = _evaluator(registry, tmp_path, extractor), _model()
    first = evaluator.evaluate(model, batch_size=10)
    assert extractor.images_seen == 24 + 30
    second = evaluator.evaluate(model, batch_size=7)
    assert extractor.images_seen == 24 + 30 + 24  # reference read from the cache
    assert first[0].values == second[0].values  # same samples whatever the batch size
    _evaluator(registry, tmp_path, extractor, split="test").evaluate(model, batch_size=10)
    assert extractor.images_seen == 24 + 30 + 24 + 24 + 30  # another split is another cache entry


def test_a_damaged_cache_entry_is_recomputed(registry, tmp_path):
    extractor = _CountingExtractor()
    evaluator, model = _evaluator(registry, tmp_path, extractor), _model()
    expected = evaluator.evaluate(model, batch_size=8)[0].values
    (entry,) = (tmp_path / "reference").iterdir()
    entry.write_bytes(b"garbage")
    seen = extractor.images_seen
    fresh = _evaluator(registry, tmp_path, extractor)  # a new run reads the cache from disk
    assert fresh.evaluate(model, batch_size=8)[0].values == expected
    assert extractor.images_seen == seen + 24 + 30  # the reference was extracted again


def test_results_carry_protocol_and_flags_or_reason(registry, tmp_path):
    fid, logits = _evaluator(registry, tmp_path, _CountingExtractor()).evaluate(_model(), batch_size=8)
    assert fid.protocol.n_generated == 24 and fid.protocol.n_reference == 30
    assert fid.protocol.reference == "noise/train" and fid.value > 0
    # pixel-fid estimates the covariance of 48 pooled pixels from 24 and 30 samples
    (flag,) = fid.flags
    assert flag.startswith("rank-deficient covariance: 24 generated and 30 reference samples") and "48 dims" in flag
    assert fid.as_record()["flags"] == [flag]
    assert logits.values is None and logits.unavailable == "pixels has no classifier"
    assert logits.flags == () and logits.as_record()["flags"] == []


def _spec(**declared) -> MetricSpec:
    return MetricSpec("m", "a metric", "pixels", "flat", lambda inputs: {"m": 0.0}, **declared)


def test_a_covariance_is_flagged_below_two_samples_per_feature_dimension_on_either_side():
    spec = _spec(estimates_covariance=True)
    assert sample_count_flags(spec, 4096, 4096, 2048) == ()
    (flag,) = sample_count_flags(spec, 4096, 4095, 2048)
    assert flag.startswith("rank-deficient covariance: 4095 reference samples, fewer than 2 per feature dimension")
    (flag,) = sample_count_flags(spec, 400, 400, 2048)
    assert "400 generated and 400 reference samples" in flag and "(2048 dims)" in flag and "unreliable" in flag
    without_reference = _spec(estimates_covariance=True, needs_reference=False)
    (flag,) = sample_count_flags(without_reference, 10, 0, 128)
    assert "10 generated samples," in flag and "reference" not in flag


def test_bias_is_flagged_only_for_metrics_that_declare_it():
    assert sample_count_flags(_spec(), 10, 10, 2048) == ()  # e.g. KID: an unbiased estimate
    biased = _spec(biased_below=10_000)
    assert sample_count_flags(biased, 10_000, 50_000, 64) == ()
    (flag,) = sample_count_flags(biased, 400, 50_000, 64)
    assert flag.startswith("biased by the sample count: 400 generated samples < 10000")
    both = sample_count_flags(_spec(biased_below=10_000, estimates_covariance=True), 400, 400, 2048)
    assert [flag.split(":")[0] for flag in both] == ["rank-deficient covariance", "biased by the sample count"]


def test_a_per_class_metric_is_flagged_from_its_smallest_class_of_the_classes_asked_for(tmp_path):
    from ganbench_plugins.dcgan import build_cdcgan

    torch.manual_seed(0)
    conditional = build_cdcgan(ModelRequest(32, 3, 4, 16, {"width": 8, "embedding_dim": 4}))
    asked = torch.cat([labels for _, labels in generate(conditional, 24, 8, seed=0)])
    smallest = int(asked.bincount().min())
    assert 0 < smallest < 24

    def flags(**declared) -> tuple[str, ...]:
        spec = _spec(needs_reference=False, biased_below=24, **declared)
        evaluator = _evaluator_of([spec], lambda request: PixelFeatures(), tmp_path, n_generated=24, seed=0)
        (result,) = evaluator.evaluate(conditional, batch_size=8)
        return result.flags

    assert flags() == ()  # 24 generated samples in all are not fewer than 24
    (flag,) = flags(per_class=True)
    assert flag.startswith(f"biased by the sample count: {smallest} generated samples in the smallest class < 24")


def test_generation_is_fixed_by_seed_and_leaves_training_mode_alone():
    model = _model()
    model.train()

    def images(batch_size: int, seed: int) -> torch.Tensor:
        return torch.cat([batch for batch, _ in generate(model, 10, batch_size, seed)])

    first = images(4, seed=3)
    assert torch.equal(first, images(10, seed=3))
    assert not torch.equal(first, images(4, seed=4))
    assert model.generator.training


def test_uint8_conversion_and_grey_to_rgb():
    images = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3)
    converted = to_uint8_rgb(images)
    assert converted.dtype == torch.uint8 and converted.shape == (1, 3, 1, 3)
    assert converted[0, :, 0].tolist() == [[0, 128, 255]] * 3


def test_a_metric_that_cannot_compute_gives_its_reason(registry, tmp_path):
    from ganbench import MetricSpec
    from ganbench.errors import MetricUnavailable

    def refuses(inputs):
        raise MetricUnavailable("needs at least 2 samples")

    evaluator = _evaluator(registry, tmp_path, _CountingExtractor())
    evaluator.metrics = [MetricSpec("picky", "refuses", "pixels", "flat", refuses)]
    (result,) = evaluator.evaluate(_model(), batch_size=8)
    assert result.values is None and result.unavailable == "needs at least 2 samples"


def test_metrics_see_the_requested_classes_and_extractors_the_training_set(registry, tmp_path):
    from ganbench.specs import MetricSpec
    from ganbench_plugins.dcgan import build_cdcgan

    requests, inputs = [], []

    def build(request):
        requests.append(request)
        return _CountingExtractor()

    def record(metric_input):
        inputs.append(metric_input)
        return {"n": float(len(metric_input.fake))}

    record_spec = MetricSpec("record", "records its input", "pixels", "flat", record, needs_reference=False)
    evaluator = _evaluator_of([record_spec], build, tmp_path, "test", n_generated=10, n_reference=0, seed=3)
    torch.manual_seed(0)
    conditional = build_cdcgan(ModelRequest(32, 3, 4, 16, {"width": 8, "embedding_dim": 4}))
    evaluator.evaluate(conditional, batch_size=4)
    evaluator.evaluate(_model(), batch_size=4)
    (request,) = requests  # built once, with the training split to learn from
    assert request.training_set is evaluator.training_set and request.training_key["split"] == "train"
    assert request.seed == 3
    asked = torch.cat([labels for _, labels in generate(conditional, 10, 4, seed=3)])
    assert torch.equal(inputs[0].fake_labels, asked) and len(asked.unique()) > 1
    assert inputs[1].fake_labels is None  # unconditional


def test_an_extractor_that_provides_none_of_the_features_read_is_not_run(registry, tmp_path):
    # e.g. an extractor without weights: its metrics are unavailable with its reason, and nothing is extracted
    extractor = _CountingExtractor()
    evaluator = _evaluator_of([registry.get("metric", "pixel-logits")], lambda request: extractor, tmp_path)
    (logits,) = evaluator.evaluate(_model(), batch_size=8)
    assert logits.values is None and logits.unavailable == "pixels has no classifier"
    assert extractor.images_seen == 0 and not (tmp_path / "reference").exists()
