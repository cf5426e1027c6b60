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

    def describe(self) -> str:
        against = f" vs {self.n_reference} {self.reference}" if self.n_reference else ""
        return f"{self.extractor}@{self.weights_hash[:8]}, {self.n_generated} generated{against}, {self.resolution}px"


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


def sample_count_flags(spec: MetricSpec, n_generated: int, n_reference: int, dimension: int) -> tuple[str, ...]:
    """Caveats on a value of ``spec`` from these sample counts and ``dimension`` features, as ``spec`` declares them."""
    counts = {"generated": n_generated, **({"reference": n_reference} if spec.needs_reference else {})}
    flags = []
    if spec.estimates_covariance and (short := _fewer_than(counts, 2 * dimension)):
        flags.append(
            f"rank-deficient covariance: {short}, fewer than 2 per feature dimension ({dimension} dims); the value "
            "is unreliable and compares only with values from the same sample counts"
        )
    if spec.biased_below and (short := _fewer_than(counts, spec.biased_below)):
        flags.append(
            f"biased by the sample count: {short} < {spec.biased_below}; compare only with values from the same "
            "sample counts"
        )
    return tuple(flags)


def _fewer_than(counts: dict[str, int], minimum: int) -> str:
    """The sides with fewer than ``minimum`` samples, as "400 generated and 400 reference samples" ("": none)."""
    short = [f"{n} {side}" for side, n in counts.items() if n < minimum]
    return f"{' and '.join(short)} samples" if short else ""


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
            requested: list[torch.Tensor] = []
            fake = extract(extractor, _keeping_labels(batches(), requested), progress)
            fake_labels = torch.cat(requested) if requested else None
            real = (
                self.reference_features(extractor, progress)
                if any(spec.needs_reference for spec in self.metrics if spec.extractor == name)
                else None
            )
            results += [
                self._compute(spec, extractor, fake, real, fake_labels, paired)
                for spec in self.metrics
                if spec.extractor == name
            ]
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
        protocol = Protocol(
            extractor.name,
            extractor.weights_hash,
            self.n_generated,
            self.n_reference if spec.needs_reference else 0,
            self.reference_key["data"],
            self.reference_key["resolution"],
        )
        try:
            values = spec.compute(
                MetricInput(
                    fake[spec.feature],
                    real[spec.feature] if real is not None and spec.needs_reference else None,
                    self.seed,
                    fake_labels,
                    self._reference_labels if real is not None and spec.needs_reference else None,
                    paired,
                )
            )
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
        flags = sample_count_flags(spec, protocol.n_generated, protocol.n_reference, fake[spec.feature].shape[1])
        return MetricResult(spec.name, values, protocol, spec.higher_is_better, flags=flags)

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
        features = extract(extractor, self._reference_batches(labels), progress)
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
    extractor: FeatureExtractor, batches: Iterator[torch.Tensor], progress: Progress | None
) -> dict[str, torch.Tensor]:
    """Features of every image of ``batches``, concatenated per feature."""
    parts: dict[str, list[torch.Tensor]] = {}
    for images in batches:
        for start in range(0, images.shape[0], EXTRACT_BATCH):
            chunk = to_uint8_rgb(images[start : start + EXTRACT_BATCH])
            for name, value in extractor(chunk).items():
                parts.setdefault(name, []).append(value)
            if progress:
                progress(chunk.shape[0])
    if not parts:
        raise GanbenchError("No images to evaluate: the reference split or the sample count is empty.")
    return {name: torch.cat(values) for name, values in parts.items()}
