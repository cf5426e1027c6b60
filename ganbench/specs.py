"""The contracts between the core and its plugins.

A plugin registers *specs*: small frozen records that name a component, describe it in one
line, declare what it supports, and carry a ``build`` callable. The core reads the
declarations to validate a run before any work starts, then calls ``build``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    import numpy as np
    from optuna.distributions import BaseDistribution

    from ganbench.model import GAN
    from ganbench.objective import Regularizer


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelRequest:
    """What the core asks a model plugin to build."""

    resolution: int
    channels: int
    num_classes: int
    z_dim: int
    options: Mapping[str, Any]
    condition_channels: int = 0  # channels of the condition image; 0 unless the model is image-conditioned


@dataclass(frozen=True)
class ModelSpec:
    """A GAN architecture.

    ``defaults`` are the paper's training settings, as run-configuration fields
    (``lr_g``, ``beta1``, ``n_disc``, ``loss``, ``reg``, ``optimizer``, ...); they sit between
    ganbench's defaults and the user's config file. ``options`` are the model's own knobs and
    their defaults; a model whose discriminator can use spectral normalization exposes it
    as the bool option ``spectral_norm``, and one whose discriminator normalization is
    selectable exposes the option ``norm`` (``batch``, ``layer``, ``instance``, ``none``).
    ``search_space`` maps the hyperparameters that matter for this model to Optuna
    distributions; keys are run-configuration fields or ``model_options.<key>`` (a loss's
    and a regularizer's own options are searched from their specs).
    ``condition_image``: the model is conditioned on an image (a sketch, edge map or mask) as
    well as, when ``conditional``, a label; its generator is called ``generator(z, labels,
    conditions)`` and its discriminator sees the pair as ``discriminator(cat([images,
    conditions], dim=1), labels)``. It trains only on datasets with condition images.
    """

    name: str
    description: str
    build: Callable[[ModelRequest], GAN]
    resolutions: tuple[int, ...]
    conditional: bool = False
    channels: tuple[int, ...] = (1, 3)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    citation: str = ""
    search_space: Mapping[str, BaseDistribution] = field(default_factory=dict)
    condition_image: bool = False

    def builds_conditional(self, model_options: Mapping[str, Any]) -> bool:
        """Whether the model is built class-conditional with the user's (type-checked) ``model_options``."""
        if not self.conditional:
            return False
        return bool({**self.options, **model_options}.get("conditional", True))


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class DatasetRequest:
    """What the core asks a dataset plugin to load.

    ``root`` is the user's ``--data-dir`` (None when not given); ``cache_dir`` is a
    writable folder where a plugin may keep converted files.
    """

    split: str
    resolution: int
    root: Path | None
    cache_dir: Path
    options: Mapping[str, Any]


@runtime_checkable
class ImageDataset(Protocol):
    """A map-style dataset of ``(image, label)`` pairs.

    ``image`` is a float tensor of shape (channels, resolution, resolution) in [-1, 1];
    ``label`` is an int in [0, num_classes), or -1 when the dataset has no labels.
    """

    channels: int
    num_classes: int
    class_names: list[str]

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]: ...


@runtime_checkable
class ConditionedDataset(ImageDataset, Protocol):
    """An ``ImageDataset`` whose items also have a condition image (a sketch, edge map or mask).

    ``condition(index)`` is a float tensor (condition_channels, resolution, resolution) in
    [-1, 1]; ``paired`` says whether item i's condition was drawn from image i (False: from
    another image, e.g. of the same class). Items stay ``(image, label)`` pairs, so everything
    that reads images and labels reads a conditioned dataset unchanged.
    """

    condition_channels: int
    paired: bool

    def condition(self, index: int) -> torch.Tensor: ...


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    build: Callable[[DatasetRequest], ImageDataset]
    splits: tuple[str, ...] = ("train", "test")
    labelled: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)
    needs_files: bool = True
    # Options that only shape what G trains on (augmentation, a subset of train): reference images for the
    # metrics are loaded with these at their defaults, so FID compares with the split as published.
    training_only_options: tuple[str, ...] = ()
    # Bump when the same options give other images: cached reference features and trained extractors are
    # keyed by it, so stale ones are not reused.
    version: str = "1"
    # It builds ConditionedDatasets: its items come with condition images of their own (e.g. sketches).
    condition_images: bool = False
    # What identifies the data a request would read, computed cheaply without decoding it (e.g. a hash of the
    # files' relative paths and sizes, ``ganbench.data.files.fingerprint``). It is part of every metric
    # value's protocol and of every cache key, so different or changed data is never compared, or served from a
    # cache, as the same. None: the dataset's name, version and options identify its images (generated data, or
    # official files whose checksums the plugin verifies).
    fingerprint: Callable[[DatasetRequest], str] | None = None
    # The data is a folder of the user's own (--data-dir): its runs are filed in the MLflow experiment
    # "<name>:<folder name>", not in one experiment shared by every folder.
    user_folder: bool = False


# --------------------------------------------------------------------------- losses


class Loss(Protocol):
    """An adversarial objective on discriminator outputs (raw logits)."""

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor: ...

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class LossSpec:
    name: str
    description: str
    build: Callable[[Mapping[str, Any]], Loss]
    options: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, BaseDistribution] = field(default_factory=dict)  # keys: the loss's option names


@dataclass(frozen=True)
class RegularizerSpec:
    """A regularizer of training, of either network (see ``ganbench.objective.Regularizer``).

    ``conflicts`` says why the regularizer cannot train a model configured this way (its
    spec and its resolved options), or returns None when it can; it runs before training.
    ``search_space`` keys are the regularizer's option names. ``augments``: it augments D's
    inputs (a search's ``augment`` choice may add it to any model).
    """

    name: str
    description: str
    build: Callable[[Mapping[str, Any]], Regularizer]
    options: Mapping[str, Any] = field(default_factory=dict)
    conflicts: Callable[[ModelSpec, Mapping[str, Any]], str | None] | None = None
    search_space: Mapping[str, BaseDistribution] = field(default_factory=dict)
    augments: bool = False


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class ExtractorRequest:
    """What the core asks a feature-extractor plugin to build.

    ``options`` are the extractor's declared options (``FeatureExtractorSpec.options``) under the
    user's (``--extractor-option NAME.KEY=VALUE``). ``training_set`` is the run's training split and
    ``training_key`` what identifies it (dataset, split, resolution, options, data dir), for
    extractors trained on the domain (e.g. a proxy classifier) and cached by that key; ``seed`` is
    the run's seed (an extractor shared across runs should train from a fixed seed of its own instead).
    """

    device: torch.device
    cache_dir: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    training_set: ImageDataset | None = None
    training_key: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0


class FeatureExtractor(Protocol):
    """Maps uint8 RGB images (N, 3, H, W) to named feature tensors (N, D), on the CPU.

    ``features`` names what it provides; ``unavailable`` maps a feature it cannot
    provide to the reason (e.g. weights without a logits layer). ``input_size``: the square size
    its network reads, which it resizes images to itself (TensorFlow-1 bilinear, as torch-fidelity's
    networks do) unless the run's ``resize`` setting has the evaluator resize them first; None (or
    absent, as in plugins older than the setting): it takes images at any size, and ``resize`` does
    not apply to it.
    """

    name: str
    weights_hash: str
    features: tuple[str, ...]
    unavailable: Mapping[str, str]
    input_size: int | None

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]: ...


@dataclass(frozen=True)
class FeatureExtractorSpec:
    """A feature extractor; ``needs_labels`` when it learns from the training split's labels. ``options``:
    its own settings with their defaults, set with ``--extractor-option NAME.KEY=VALUE`` and checked against
    the defaults' types."""

    name: str
    description: str
    build: Callable[[ExtractorRequest], FeatureExtractor]
    needs_labels: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricInput:
    """Features of generated images and, for metrics that compare, of reference images.

    ``fake_labels`` are the classes a conditional model was asked for (None: unconditional);
    ``real_labels`` the classes of the reference images (None: unlabelled, or no reference).
    ``paired``: generated image i was made from the condition image of reference image i, which
    was drawn from that image (an image-conditioned model on paired data), so pairs compare.
    """

    fake: torch.Tensor
    real: torch.Tensor | None
    seed: int
    fake_labels: torch.Tensor | None = None
    real_labels: torch.Tensor | None = None
    paired: bool = False


@dataclass(frozen=True)
class MetricSpec:
    """A metric computed from one feature of one extractor.

    ``compute`` returns named values: the first is the headline value
    (e.g. ``{"kid": mean, "kid_std": std}``). Lower is better unless ``higher_is_better``.

    Two declarations let the evaluator flag a value that only compares with values from the
    same sample counts: ``biased_below``, the estimate shifts with the sample count when
    either side has fewer samples than this (0: it does not; FID is biased upwards below
    10k); ``estimates_covariance``, it estimates the features' covariance, which is
    rank-deficient with fewer than 2 samples per feature dimension. ``per_class``: it
    estimates within each class (e.g. intra-class FID), so both apply to the smallest
    class's sample counts, which the evaluator takes from the labels.

    ``from_statistics``: the metric computed against a reference given only as its features'
    mean ``mu`` and covariance ``sigma`` (``--reference-stats``, a pytorch-fid or clean-fid
    file), as FID can be; None: it needs the reference features themselves.
    """

    name: str
    description: str
    extractor: str
    feature: str
    compute: Callable[[MetricInput], dict[str, float]]
    needs_reference: bool = True
    higher_is_better: bool = False
    biased_below: int = 0
    estimates_covariance: bool = False
    per_class: bool = False
    from_statistics: Callable[[MetricInput, Mapping[str, np.ndarray]], dict[str, float]] | None = None
