"""Sampling and metrics under one protocol.

Features of generated images are computed once per extractor and shared by every metric
that reads it; features of reference images are cached on disk, keyed by dataset, split,
resolution, dataset options, extractor and the extractor's weights hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganbench.data.conditions import dataset_labels
from ganbench.data.images import to_uint8_rgb
from ganbench.errors import GanbenchError, MetricUnavailable
from ganbench.evaluation.resize import DEFAULT_RESIZE, applied_resize, fit_to_extractor
from ganbench.evaluation.statistics_file import ReferenceStatistics
from ganbench.filesystem import atomic_save
from ganbench.model import GAN, ImageConditionedGAN
from ganbench.specs import (
    ConditionedDataset,
    ExtractorRequest,
    FeatureExtractor,
    ImageDataset,
    MetricInput,
    MetricSpec,
)

EXTRACT_BATCH = 50
REFERENCE_SEED = 0  # every run compares with the same reference images, whatever its own seed

Progress = Callable[[int], None]
# Yields batches of images in [-1, 1], each with the classes its images show (None: unlabelled), anew per call.
Batches = Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor | None]]]
# (rank, ranks): one of ``ranks`` processes makes every ranks-th batch, from batch ``rank`` on
Shard = tuple[int, int]
WHOLE: Shard = (0, 1)


@dataclass(frozen=True)
class Protocol:
    """How a metric value was computed: two values are comparable only when these are equal."""

    extractor: str
    weights_hash: str
    n_generated: int
    n_reference: int
    reference: str
    resolution: int
    resize: str | None = DEFAULT_RESIZE  # None: the extractor resizes nothing (see ganbench.evaluation.resize)
    reference_statistics: str | None = None  # a statistics file's identity, when it stood for the reference

    def describe(self) -> str:
        """One line; the default resize goes unsaid, so it reads as it did before the setting existed."""
        against = f" vs {self.n_reference} {self.reference}" if self.n_reference else ""
        if self.reference_statistics:
            against = f" vs statistics {self.reference_statistics}"
        resized = f", {self.resize} resize" if self.resize not in (None, DEFAULT_RESIZE) else ""
        return (
            f"{self.extractor}@{self.weights_hash[:8]}, {self.n_generated} generated{against}, "
            f"{self.resolution}px{resized}"
        )


@dataclass(frozen=True)
class MetricResult:
    """A metric's values with their protocol, or the reason it could not be computed.

    ``flags`` are caveats a reader must see beside the values (see ``sample_count_flags``).
    """

    metric: str
    values: dict[str, float] | None
    protocol: Protocol | None
    higher_is_better: bool = False
    unavailable: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def value(self) -> float | None:
        return next(iter(self.values.values())) if self.values else None

    def as_record(self) -> dict[str, Any]:
        protocol = self.protocol.__dict__ if self.protocol else None
        return {
            "metric": self.metric,
            "values": self.values,
            "protocol": protocol,
            "unavailable": self.unavailable,
            "flags": list(self.flags),
        }


def sample_count_flags(
    spec: MetricSpec,
    n_generated: int,
    n_reference: int,
    dimension: int,
    fake_labels: torch.Tensor | None = None,
    real_labels: torch.Tensor | None = None,
) -> tuple[str, ...]:
    """Caveats on a value of ``spec`` from these sample counts and ``dimension`` features, as ``spec`` declares them.

    A ``per_class`` metric's counts are those of the smallest class of ``fake_labels`` and of ``real_labels``.
    """
    # n_reference 0: the reference was a statistics file, whose sample count is unknown
    counts = {"generated": n_generated, **({"reference": n_reference} if spec.needs_reference and n_reference else {})}
    unit = "samples"
    if spec.per_class:
        labels = {"generated": fake_labels, "reference": real_labels}
        counts = {side: smallest_class(labels[side], n) for side, n in counts.items()}
        unit = "samples in the smallest class"
    flags = []
    if spec.estimates_covariance and (short := _fewer_than(counts, 2 * dimension, unit)):
        flags.append(
            f"rank-deficient covariance: {short}, fewer than 2 per feature dimension ({dimension} dims); the value "
            "is unreliable and compares only with values from the same sample counts"
        )
    if spec.biased_below and (short := _fewer_than(counts, spec.biased_below, unit)):
        flags.append(
            f"biased by the sample count: {short} < {spec.biased_below}; compare only with values from the same "
            "sample counts"
        )
    return tuple(flags)


def smallest_class(labels: torch.Tensor | None, n: int) -> int:
    """The sample count of the rarest class in ``labels`` (negative: unlabelled); ``n`` when none is labelled."""
    labelled = labels[labels >= 0] if labels is not None else None
    if labelled is None or len(labelled) == 0:
        return n
    return int(labelled.unique(return_counts=True)[1].min())


def _fewer_than(counts: dict[str, int], minimum: int, unit: str = "samples") -> str:
    """The sides with fewer than ``minimum`` samples, as "400 generated and 400 reference samples" ("": none)."""
    short = [f"{n} {side}" for side, n in counts.items() if n < minimum]
    return f"{' and '.join(short)} {unit}" if short else ""


def generate(
    model: GAN, n: int, batch_size: int, seed: int, shard: Shard = WHOLE
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``n`` images from ``model`` and the classes asked for (None: unconditional), or the ``shard`` of them.

    The same ones for the same weights and seed (CPU, [-1, 1]).
    """
    rng = torch.Generator().manual_seed(seed)
    rank, ranks = shard
    for index, start in enumerate(range(0, n, batch_size)):
        size = min(batch_size, n - start)
        z, labels = model.sample_latent(size, rng), model.sample_labels(size, rng)
        if index % ranks == rank:
            yield model.sample(z, labels).cpu(), None if labels is None else labels.cpu()


def generate_from_conditions(
    model: ImageConditionedGAN,
    dataset: ConditionedDataset,
    indices: list[int],
    batch_size: int,
    seed: int,
    shard: Shard = WHOLE,
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Images of an image-conditioned ``model`` made from the condition images (and classes) of ``dataset[indices]``,
    in that order, and the classes asked for (None: not class-conditional). Latents from ``seed``, as ``generate``."""
    rng = torch.Generator().manual_seed(seed)
    labels = dataset_labels(dataset) if model.conditional else None
    rank, ranks = shard
    for index, start in enumerate(range(0, len(indices), batch_size)):
        chunk = indices[start : start + batch_size]
        z = model.sample_latent(len(chunk), rng)
        if index % ranks != rank:
            continue
        conditions = torch.stack([dataset.condition(i) for i in chunk]).to(model.device)
        asked = None if labels is None else labels[chunk]
        yield model.sample(z, None if asked is None else asked.to(model.device), conditions=conditions).cpu(), asked


def _keeping_labels(
    batches: Iterator[tuple[torch.Tensor, torch.Tensor | None]], labels: list[torch.Tensor]
) -> Iterator[torch.Tensor]:
    """The images of ``batches``; their labels, when there are any, are appended to ``labels``."""
    for images, batch_labels in batches:
        if batch_labels is not None:
            labels.append(batch_labels)
        yield images


class Evaluator:
    """Computes the configured metrics of a model against one reference split."""

    def __init__(
        self,
        metrics: list[MetricSpec],
        extractors: dict[str, Callable[[ExtractorRequest], FeatureExtractor]],
        reference: ImageDataset,
        reference_key: dict[str, Any],
        training_set: ImageDataset,
        training_key: dict[str, Any],
        n_generated: int,
        n_reference: int,
        seed: int,
        device: torch.device,
        cache_dir: Path,
        extractor_options: Mapping[str, Mapping[str, Any]] | None = None,
        resize: str = DEFAULT_RESIZE,
        reference_statistics: ReferenceStatistics | None = None,
    ) -> None:
        self.metrics = metrics
        self._builders = extractors
        self._extractors: dict[str, FeatureExtractor] = {}
        self._reference_features: dict[str, dict[str, torch.Tensor]] = {}  # by extractor: read from disk once
        self._reference_labels: torch.Tensor | None = None
        self.reference = reference
        self.reference_key = reference_key
        self.training_set = training_set
        self.training_key = training_key
        self.n_generated = n_generated
        self.n_reference = min(n_reference or len(reference), len(reference))
        self.seed = seed
        self.device = device
        self.cache_dir = cache_dir
        self.extractor_options = extractor_options or {}
        self.resize = resize
        self.reference_statistics = reference_statistics

    def extractor(self, name: str) -> FeatureExtractor:
        if name not in self._extractors:
            request = ExtractorRequest(
                device=self.device,
                cache_dir=self.cache_dir / "weights",
                options=self.extractor_options.get(name, {}),
                training_set=self.training_set,
                training_key=self.training_key,
                seed=self.seed,
            )
            self._extractors[name] = self._builders[name](request)
        return self._extractors[name]

    def evaluate(self, model: GAN, batch_size: int, progress: Progress | None = None) -> list[MetricResult]:
        """The metrics of ``n_generated`` images of ``model``, drawn from the evaluator's seed.

        An image-conditioned model draws them from the reference images' conditions, in the reference order.
        """
        return self.evaluate_images(self.model_batches(model, batch_size), progress, self.pairs_with(model))

    def model_batches(self, model: GAN, batch_size: int, shard: Shard = WHOLE) -> Batches:
        """The ``n_generated`` images ``evaluate`` scores (or the ``shard`` of them), as ``evaluate_images`` takes
        them; an image-conditioned model's from the reference images' conditions, in the reference order."""
        if not isinstance(model, ImageConditionedGAN):
            return lambda: generate(model, self.n_generated, batch_size, self.seed, shard)
        reference = self.conditioned_reference()
        order = self.reference_indices()
        indices = [order[i % len(order)] for i in range(self.n_generated)]  # more than the reference: cycle
        return lambda: generate_from_conditions(model, reference, indices, batch_size, self.seed, shard)

    def pairs_with(self, model: GAN) -> bool:
        """Whether ``model``'s generated image i compares with reference image i (see ``MetricInput.paired``)."""
        return model.image_conditioned and self.conditioned_reference().paired

    def conditioned_reference(self) -> ConditionedDataset:
        if not isinstance(self.reference, ConditionedDataset):
            raise GanbenchError(
                f"An image-conditioned model is evaluated on the condition images of the reference split "
                f"({self.reference_key['dataset']}/{self.reference_key['split']}), and it has none. Pass --sketch "
                "edges, or use a dataset with condition images."
            )
        return self.reference

    def condition_samples(
        self, model: ImageConditionedGAN, n: int, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Condition images, ``model``'s images made from them and the real images, of the first ``n`` reference
        images in the reference order; the same latents (from ``seed``) every time. All on the CPU, in [-1, 1]."""
        reference = self.conditioned_reference()
        indices = self.reference_indices()[:n]
        generated = torch.cat([images for images, _ in generate_from_conditions(model, reference, indices, n, seed)])
        conditions = torch.stack([reference.condition(i) for i in indices])
        real = torch.stack([reference[i][0] for i in indices])
        return conditions, generated, real

    def reference_indices(self) -> list[int]:
        """The reference images every metric compares with, in order: a fixed shuffle of the split, ``n_reference``."""
        order = torch.randperm(len(self.reference), generator=torch.Generator().manual_seed(REFERENCE_SEED))
        return order[: self.n_reference].tolist()

    def evaluate_images(
        self, batches: Batches, progress: Progress | None = None, paired: bool = False
    ) -> list[MetricResult]:
        """The metrics of the ``n_generated`` images that ``batches()`` yields, however they were made.

        ``batches`` is called once per feature extractor and must yield the same images, in [-1, 1],
        every time, each batch with the classes its images were made for (None: unlabelled).
        ``paired``: image i was made from the condition of reference image i (see ``MetricInput.paired``).
        """
        results = []
        for name in dict.fromkeys(spec.extractor for spec in self.metrics):
            extractor = self.extractor(name)
            specs = [spec for spec in self.metrics if spec.extractor == name]
            if not any(spec.feature in extractor.features for spec in specs):
                # it provides none of their features (e.g. it has no weights): each is unavailable, with its reason,
                # and no image is made or read for it
                results += [self._compute(spec, extractor, {}, None, None) for spec in specs]
                continue
            requested: list[torch.Tensor] = []
            fake = extract(extractor, _keeping_labels(batches(), requested), progress, self.resize)
            fake_labels = torch.cat(requested) if requested else None
            real = (
                self.reference_features(extractor, progress)
                if any(self._reads_reference_features(spec) for spec in specs)
                else None
            )
            results += [self._compute(spec, extractor, fake, real, fake_labels, paired) for spec in specs]
        return results

    def _compute(
        self,
        spec: MetricSpec,
        extractor: FeatureExtractor,
        fake: dict[str, torch.Tensor],
        real: dict[str, torch.Tensor] | None,
        fake_labels: torch.Tensor | None,
        paired: bool = False,
    ) -> MetricResult:
        if spec.feature not in extractor.features:
            reason = extractor.unavailable.get(
                spec.feature, f"{extractor.name} does not provide feature {spec.feature!r}"
            )
            return MetricResult(spec.name, None, None, spec.higher_is_better, reason)
        statistics = self.reference_statistics if spec.needs_reference else None
        protocol = Protocol(
            extractor.name,
            extractor.weights_hash,
            self.n_generated,
            self.n_reference if spec.needs_reference and statistics is None else 0,
            self.reference_key["data"],
            self.reference_key["resolution"],
            applied_resize(extractor, self.resize),
            statistics.identity if statistics else None,
        )
        if statistics and spec.from_statistics is None:
            reason = (
                f"{spec.name} needs the reference images' features, and --reference-stats gives the reference as a "
                "mean and covariance only (enough for FID and FD∞). Leave out --reference-stats to compute it."
            )
            return MetricResult(spec.name, None, protocol, spec.higher_is_better, reason)
        real_labels = self._reference_labels if real is not None and spec.needs_reference else None
        inputs = MetricInput(
            fake[spec.feature],
            real[spec.feature] if real is not None and spec.needs_reference else None,
            self.seed,
            fake_labels,
            real_labels,
            paired,
        )
        try:
            if statistics and spec.from_statistics:
                values = spec.from_statistics(inputs, statistics.as_fid_statistics())
            else:
                values = spec.compute(inputs)
        except MetricUnavailable as exc:
            return MetricResult(spec.name, None, protocol, spec.higher_is_better, str(exc))
        bad = [key for key, value in values.items() if not math.isfinite(value)]
        if bad:
            return MetricResult(
                spec.name,
                None,
                protocol,
                spec.higher_is_better,
                f"{spec.name} came out non-finite ({', '.join(bad)}): the generated images may be constant",
            )
        dimension = fake[spec.feature].shape[1]
        flags = sample_count_flags(
            spec, protocol.n_generated, protocol.n_reference, dimension, fake_labels, real_labels
        )
        return MetricResult(spec.name, values, protocol, spec.higher_is_better, flags=flags)

    def _reads_reference_features(self, spec: MetricSpec) -> bool:
        """Whether ``spec`` compares with the reference images' features (not a statistics file, nor nothing)."""
        return spec.needs_reference and self.reference_statistics is None

    def reference_features(
        self, extractor: FeatureExtractor, progress: Progress | None = None
    ) -> dict[str, torch.Tensor]:
        if extractor.name not in self._reference_features:
            features, self._reference_labels = self._cached_reference_features(extractor, progress)
            self._reference_features[extractor.name] = features
        return self._reference_features[extractor.name]

    def _cached_reference_features(
        self, extractor: FeatureExtractor, progress: Progress | None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The reference images' features and their labels (-1: unlabelled), from the cache when it holds them."""
        key = {
            **self.reference_key,
            "extractor": extractor.name,
            "weights": extractor.weights_hash,
            "n": self.n_reference,
            "seed": REFERENCE_SEED,
        }
        if (resize := applied_resize(extractor, self.resize)) not in (None, DEFAULT_RESIZE):
            key["resize"] = resize  # only then: the caches written before the setting existed stay valid
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = (
            self.cache_dir
            / "reference"
            / f"{key['dataset']}-{key['split']}-{key['resolution']}px-{extractor.name}-{digest}.pt"
        )
        if path.is_file():
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
                return saved["features"], saved["labels"]
            except Exception:  # a damaged (or pre-labels) cache entry is recomputed, never trusted
                path.unlink(missing_ok=True)
        labels: list[int] = []
        features = extract(extractor, self._reference_batches(labels), progress, self.resize)
        atomic_save(path, {"key": key, "features": features, "labels": torch.tensor(labels, dtype=torch.int64)})
        return features, torch.tensor(labels, dtype=torch.int64)

    def _reference_batches(self, labels: list[int]) -> Iterator[torch.Tensor]:
        """The reference images in batches; their labels are appended to ``labels``."""
        indices = self.reference_indices()
        for start in range(0, len(indices), EXTRACT_BATCH):
            items = [self.reference[i] for i in indices[start : start + EXTRACT_BATCH]]
            labels.extend(label for _, label in items)
            yield torch.stack([image for image, _ in items])


def extract(
    extractor: FeatureExtractor,
    batches: Iterator[torch.Tensor],
    progress: Progress | None,
    resize: str = DEFAULT_RESIZE,
) -> dict[str, torch.Tensor]:
    """Features of every image of ``batches``, resized as ``resize`` says, concatenated per feature."""
    parts: dict[str, list[torch.Tensor]] = {}
    for images in batches:
        for start in range(0, images.shape[0], EXTRACT_BATCH):
            chunk = to_uint8_rgb(images[start : start + EXTRACT_BATCH])
            for name, value in extractor(fit_to_extractor(chunk, extractor, resize)).items():
                parts.setdefault(name, []).append(value)
            if progress:
                progress(chunk.shape[0])
    if not parts:
        raise GanbenchError("No images to evaluate: the reference split or the sample count is empty.")
    return {name: torch.cat(values) for name, values in parts.items()}
