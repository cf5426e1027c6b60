"""Condition images: derived edge maps, unpaired conditions, and the batches that carry them."""

from __future__ import annotations

import itertools

import pytest
import torch

from ganbench.data.batches import real_batches
from ganbench.data.conditions import (
    EdgeConditions,
    UnpairedConditions,
    dataset_labels,
    unpaired_partners,
    with_conditions,
)
from ganbench.data.images import TensorImageDataset
from ganbench.errors import DatasetError
from ganbench.nn.edges import edge_map


def test_edge_map_marks_a_step_and_leaves_flat_regions_dark():
    image = torch.full((1, 3, 16, 16), -1.0)
    image[..., 8:] = 1.0  # a vertical step between columns 7 and 8
    edges = edge_map(image)
    assert edges.shape == (1, 1, 16, 16) and edges.min() >= -1 and edges.max() == 1
    assert (edges[0, 0, :, 7:9] == 1).all()  # the step, at full strength on both sides
    assert (edges[0, 0, :, :5] == -1).all() and (edges[0, 0, :, 11:] == -1).all()
    assert (edge_map(torch.zeros(2, 1, 8, 8)) == -1).all()  # a flat image has no edges
    assert torch.equal(edge_map(image * 0.5), edges)  # the same edges at half the contrast
    assert torch.equal(edge_map(image), edges)  # deterministic


def _dataset(labels: list[int]) -> TensorImageDataset:
    images = torch.randint(
        0, 256, (len(labels), 3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    return TensorImageDataset(images, torch.tensor(labels), ["a", "b", "c"], 8)


def test_unpaired_partners_are_other_images_of_the_same_class_chosen_by_the_seed():
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2, 2, 0])
    partners = unpaired_partners(labels, seed=3)
    assert torch.equal(labels[partners], labels)
    assert (partners != torch.arange(len(labels))).all()
    assert sorted(partners.tolist()) == list(range(len(labels)))  # every condition is used once
    assert torch.equal(unpaired_partners(labels, seed=3), partners)
    assert not all(torch.equal(unpaired_partners(labels, seed), partners) for seed in range(4, 8))
    with pytest.raises(DatasetError, match="class c has only one image"):
        unpaired_partners(torch.tensor([0, 0, 2]), 0, ["a", "b", "c"])


def test_derived_and_unpaired_conditions():
    base = _dataset([0, 1, 0, 1, 2, 2])
    paired = with_conditions(base, "edges", "paired", seed=0)
    unpaired = with_conditions(base, "edges", "unpaired", seed=0)
    assert isinstance(paired, EdgeConditions) and paired.paired and paired.condition_channels == 1
    assert isinstance(unpaired, UnpairedConditions) and not unpaired.paired
    assert with_conditions(base, "none", "paired", seed=0) is base
    for i in range(len(base)):
        assert torch.equal(paired[i][0], base[i][0]) and paired[i][1] == base[i][1]
        assert torch.equal(paired.condition(i), edge_map(base[i][0][None])[0])
        partner = int(unpaired.partners[i])
        assert partner != i and base[partner][1] == base[i][1]
        assert torch.equal(unpaired.condition(i), paired.condition(partner))
    assert torch.equal(dataset_labels(unpaired), base.labels)


def test_training_batches_carry_the_conditions_of_their_images():
    dataset = with_conditions(_dataset([0, 1, 0, 1, 2, 2, 0, 1]), "edges", "unpaired", seed=1)
    for images, labels, conditions in itertools.islice(real_batches(dataset, 4, seed=0), 3):
        assert conditions.shape == (4, 1, 8, 8)
        for image, label, condition in zip(images, labels, conditions, strict=True):
            index = next(i for i in range(len(dataset)) if torch.equal(dataset[i][0], image))
            assert label == dataset[index][1] and torch.equal(condition, dataset.condition(index))
