"""Options common to the dataset plugins of official datasets, parsed and applied in one place.

- ``classes``: a subset of classes, as comma-separated names or indices (e.g. ``cat,dog`` or
  ``3,5``); labels are re-indexed from 0 in the dataset's class order. Every split.
- ``fraction``: keep this share of the train split, drawn at random by ``seed``; other splits
  stay whole, so a model trained on little data is still measured against a full reference.
- ``center_crop``: crop a square of this many source pixels from the centre before resizing.
- ``flip``: add a left-right mirrored copy of every train image (doubles the train split).
- ``balance``: repeat the images of rarer classes of the train split until every class has as
  many as the largest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torchvision.transforms.v2 import functional as TF

from ganbench.data.images import IndexedDataset, TensorImageDataset
from ganbench.errors import ConfigError
from ganbench.specs import ImageDataset

TRAIN = "train"
LABELLED_OPTIONS: dict[str, Any] = {
    "classes": "",
    "fraction": 1.0,
    "seed": 0,
    "center_crop": None,
    "flip": False,
    "balance": False,
}
UNLABELLED_OPTIONS: dict[str, Any] = {"fraction": 1.0, "seed": 0, "center_crop": None, "flip": False}
# they change the train split only; the metrics' reference images are loaded without them
TRAINING_ONLY_OPTIONS = ("fraction", "flip", "balance")


@dataclass(frozen=True)
class DatasetOptions:
    classes: tuple[str, ...] = ()
    fraction: float = 1.0
    seed: int = 0
    center_crop: int | None = None
    flip: bool = False
    balance: bool = False


def describe_options(options: Mapping[str, Any]) -> str:
    """The options of a DatasetSpec for its one-line description: names, and defaults that change the images."""
    defaults = {**LABELLED_OPTIONS, **UNLABELLED_OPTIONS}
    names = [name if default == defaults[name] else f"{name} (default {default})" for name, default in options.items()]
    return "options: " + ", ".join(names)


def parse_options(dataset: str, options: Mapping[str, Any]) -> DatasetOptions:
    """Check the common options present in ``options``; absent ones keep their no-op defaults."""
    crop = options.get("center_crop")
    return DatasetOptions(
        classes=_class_tokens(dataset, options.get("classes", "")),
        fraction=_fraction(dataset, options.get("fraction", 1.0)),
        seed=_integer(dataset, "seed", options.get("seed", 0), 0),
        center_crop=None if crop is None else _integer(dataset, "center_crop", crop, 1),
        flip=_boolean(dataset, "flip", options.get("flip", False)),
        balance=_boolean(dataset, "balance", options.get("balance", False)),
    )


def _invalid(dataset: str, name: str, value: Any, rule: str, example: str) -> ConfigError:
    return ConfigError(
        f"The {dataset} dataset's option {name} = {value!r} is invalid: {rule}. "
        f"Pass --dataset-option {name}={example}, or leave it out."
    )


def _class_tokens(dataset: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        tokens = [str(item).strip() for item in value]
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        tokens = [token.strip() for token in str(value).split(",")]
    else:
        raise _invalid(dataset, "classes", value, "it must be comma-separated class names or indices", "0,1")
    return tuple(token for token in tokens if token)


def _fraction(dataset: str, value: Any) -> float:
    try:
        number = float(value)
        valid = not isinstance(value, bool) and 0.0 < number <= 1.0
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise _invalid(dataset, "fraction", value, "it must be a number in (0, 1], the share of train to keep", "0.1")
    return number


def _integer(dataset: str, name: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
        valid = number == float(value) and not isinstance(value, bool) and number >= minimum
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise _invalid(dataset, name, value, f"it must be a whole number of at least {minimum}", str(max(minimum, 1)))
    return number


def _boolean(dataset: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(dataset, name, value, "it must be true or false", "true")
    return value


def center_crop(dataset: str, images: torch.Tensor, size: int | None) -> torch.Tensor:
    """The central ``size`` x ``size`` pixels of (..., H, W) images; None leaves them whole."""
    if size is None:
        return images
    height, width = images.shape[-2:]
    if size > min(height, width):
        raise _invalid(
            dataset,
            "center_crop",
            size,
            f"it is larger than the images ({height}x{width} px); it must be at most {min(height, width)}",
            str(min(height, width)),
        )
    return TF.center_crop(images, [size, size])


def build_dataset(
    dataset: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    class_names: Sequence[str],
    split: str,
    resolution: int,
    options: DatasetOptions,
) -> ImageDataset:
    """The split as an ImageDataset with the options applied (cropping is the caller's: see ``center_crop``).

    ``images``: uint8 (N, C, H, W); ``labels``: class indices, or -1 with no ``class_names``.
    """
    if options.classes:
        images, labels, class_names = _select_classes(dataset, images, labels, class_names, options.classes)
    if split == TRAIN and options.fraction < 1.0:
        keep = fraction_indices(len(images), options.fraction, options.seed)
        images, labels = images[keep], labels[keep]
    base = TensorImageDataset(images, labels, class_names, resolution)
    if split != TRAIN or not (options.balance or options.flip):
        return base
    indices = torch.arange(len(base))
    if options.balance:
        indices = _balanced(dataset, base.labels, base.num_classes)
    mirrored = torch.zeros(len(indices), dtype=torch.bool)
    if options.flip:
        indices, mirrored = torch.cat([indices, indices]), torch.cat([mirrored, ~mirrored])
    return IndexedDataset(base, indices, mirrored)


def class_indices(dataset: str, tokens: Sequence[str], class_names: Sequence[str]) -> list[int]:
    """The classes that ``tokens`` (names or indices) pick, in the dataset's class order."""
    if not class_names:
        raise ConfigError(
            f"The {dataset} dataset's option classes = {','.join(tokens)!r} cannot apply: this split has no "
            "labels. Leave classes out, or use a labelled split."
        )
    by_name = {name: index for index, name in enumerate(class_names)}
    chosen = set()
    for token in tokens:
        if token in by_name:
            chosen.add(by_name[token])
        elif token.isdigit() and int(token) < len(class_names):
            chosen.add(int(token))
        else:
            raise ConfigError(
                f"The {dataset} dataset's option classes names {token!r}, which is neither one of its classes nor "
                f"an index from 0 to {len(class_names) - 1}. Its classes: {', '.join(class_names)}. Pass e.g. "
                f"--dataset-option classes={class_names[0]},{class_names[-1]}."
            )
    return sorted(chosen)


def _select_classes(
    dataset: str, images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], tokens: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    chosen = class_indices(dataset, tokens, class_names)
    new_label = torch.full((len(class_names),), -1, dtype=torch.int64)
    new_label[chosen] = torch.arange(len(chosen))
    keep = torch.isin(labels, torch.tensor(chosen))
    return images[keep], new_label[labels[keep]], [class_names[index] for index in chosen]


def fraction_indices(count: int, fraction: float, seed: int) -> torch.Tensor:
    """A sorted, seeded random choice of round(fraction * count) indices (at least one)."""
    kept = max(1, round(fraction * count))
    chosen = torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:kept]
    return chosen.sort().values


def _balanced(dataset: str, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Indices in which every present class appears as often as the largest one, by repeating its images in turn."""
    if num_classes == 0:
        raise ConfigError(
            f"The {dataset} dataset's option balance = true cannot apply: its train split has no labels. Leave it out."
        )
    counts = torch.bincount(labels, minlength=num_classes)
    largest = int(counts.max())
    members = [(labels == label).nonzero().squeeze(1) for label in range(num_classes) if counts[label] > 0]
    return torch.cat([indices.repeat(math.ceil(largest / len(indices)))[:largest] for indices in members])
