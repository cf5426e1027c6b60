"""Condition images for image-conditioned models: edge maps derived from any dataset, unpaired conditions.

- ``--sketch edges`` gives every image its edge map (``ganbench.nn.edges``) as its condition
  image, so an image-conditioned model trains on any dataset;
- ``--pairing unpaired`` gives every image the condition image of another image of the same
  class (a seeded random cycle through each class), for a dataset's own condition images and
  for derived ones alike.

Datasets keep handing out ``(image, label)``; the condition of item i is ``condition(i)``
(see ``ConditionedDataset``). Only the training batches carry it, as a third element.
"""

from __future__ import annotations

from functools import cached_property

import torch

from ganbench.errors import DatasetError
from ganbench.nn.edges import edge_map
from ganbench.specs import ConditionedDataset, ImageDataset


def condition_channels(dataset: ImageDataset) -> int:
    """The channels of ``dataset``'s condition images (0: it has none)."""
    return dataset.condition_channels if isinstance(dataset, ConditionedDataset) else 0


def dataset_labels(dataset: ImageDataset) -> torch.Tensor:
    """Every item's label, read from a ``labels`` tensor where the dataset keeps one (no image is decoded)."""
    labels = getattr(dataset, "labels", None)
    if isinstance(labels, torch.Tensor) and len(labels) == len(dataset):
        return labels.to(torch.int64)
    return torch.tensor([dataset[i][1] for i in range(len(dataset))], dtype=torch.int64)


class _Wrapped:
    """A dataset's images, labels and class names, unchanged."""

    def __init__(self, base: ImageDataset) -> None:
        self.base = base
        self.channels = base.channels
        self.num_classes = base.num_classes
        self.class_names = base.class_names

    @cached_property
    def labels(self) -> torch.Tensor:
        return dataset_labels(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.base[index]


class EdgeConditions(_Wrapped):
    """``base`` with each image's edge map (1 channel) as its condition image."""

    condition_channels = 1
    paired = True

    def condition(self, index: int) -> torch.Tensor:
        return edge_map(self.base[index][0][None])[0]


class UnpairedConditions(_Wrapped):
    """``base`` with each image's condition taken from another image of its class, chosen by ``seed``."""

    paired = False

    def __init__(self, base: ConditionedDataset, seed: int) -> None:
        super().__init__(base)
        self.conditioned = base
        self.condition_channels = base.condition_channels
        self.partners = unpaired_partners(self.labels, seed, base.class_names)

    def condition(self, index: int) -> torch.Tensor:
        return self.conditioned.condition(int(self.partners[index]))


def unpaired_partners(labels: torch.Tensor, seed: int, class_names: list[str] | None = None) -> torch.Tensor:
    """For every index, another index with the same label: each class's members in a seeded random cycle."""
    generator = torch.Generator().manual_seed(seed)
    partners = torch.empty_like(labels)
    for label in labels.unique().tolist():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < 2:
            name = class_names[label] if class_names and 0 <= label < len(class_names) else str(label)
            raise DatasetError(
                f"--pairing unpaired gives each image the condition image of another image of its class, and class "
                f"{name} has only one image here. Add images of that class, or use --pairing paired."
            )
        members = members[torch.randperm(len(members), generator=generator)]
        partners[members] = members.roll(-1)
    return partners


def with_conditions(dataset: ImageDataset, sketch: str, pairing: str, seed: int) -> ImageDataset:
    """``dataset`` with the condition images ``sketch`` derives (``none``: its own, if any), paired as asked."""
    if sketch == "edges":
        dataset = EdgeConditions(dataset)
    if pairing == "unpaired" and isinstance(dataset, ConditionedDataset):
        dataset = UnpairedConditions(dataset, seed)
    return dataset


class ConditionTriples:
    """Items ``(image, label, condition)`` of a conditioned dataset: what training batches are made of."""

    def __init__(self, dataset: ConditionedDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        image, label = self.dataset[index]
        return image, label, self.dataset.condition(index)
