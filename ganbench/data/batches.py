"""Batches of real images in an order fixed by the seed, resumable at any step."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganbench.data.conditions import ConditionTriples
from ganbench.specs import ConditionedDataset, ImageDataset


class EpochSampler(Sampler[int]):
    """Endless indices: the first ``per_epoch`` of a permutation of all ``size`` per epoch, drawn from
    (seed, epoch), starting at any position.

    Because the order depends only on the seed and the position, a resumed run reads the
    same batches as an uninterrupted one without storing any data-loader state. Each epoch
    permutes every index, so the images an epoch leaves out differ from epoch to epoch.
    """

    def __init__(self, size: int, seed: int, start: int = 0, per_epoch: int | None = None) -> None:
        self.size = size
        self.seed = seed
        self.start = start
        self.per_epoch = size if per_epoch is None else per_epoch

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.per_epoch)
        while True:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
            yield from order[offset : self.per_epoch].tolist()
            epoch, offset = epoch + 1, 0


class RankShare(Sampler[int]):
    """Rank ``rank``'s slice of every batch of ``batch_size`` indices of ``sampler``, one of ``ranks`` equal slices."""

    def __init__(self, sampler: Sampler[int], batch_size: int, rank: int, ranks: int) -> None:
        self.sampler, self.batch_size = sampler, batch_size
        share = batch_size // ranks
        self.slice = slice(rank * share, (rank + 1) * share)

    def __iter__(self) -> Iterator[int]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            yield from batch[self.slice]


def real_batches(
    dataset: ImageDataset,
    batch_size: int,
    seed: int,
    start_batch: int = 0,
    workers: int = 0,
    rank: int = 0,
    ranks: int = 1,
    pin_memory: bool = False,
) -> Iterator[Sequence[torch.Tensor]]:
    """Endless (images, labels) batches, (images, labels, conditions) for a conditioned dataset;
    ``start_batch`` skips the batches a resumed run already used. With ``ranks`` > 1, this rank's slice of
    each batch of ``batch_size`` (which ``ranks`` divides), the same batches on every rank. ``pin_memory``:
    page-locked batches, whose copies to a GPU can overlap computation."""
    # A whole number of batches per epoch (drop_last semantics) keeps every batch full.
    usable = len(dataset) - len(dataset) % batch_size
    sampler: Sampler[int] = EpochSampler(len(dataset), seed, start_batch * batch_size, per_epoch=usable)
    if ranks > 1:
        sampler = RankShare(sampler, batch_size, rank, ranks)
    # A generator of its own: otherwise the loader draws its worker seed from the global RNG,
    # and a resumed run's noise would drift from the uninterrupted run's.
    loader: DataLoader[Any] = DataLoader(
        cast(Dataset, ConditionTriples(dataset) if isinstance(dataset, ConditionedDataset) else dataset),
        batch_size=batch_size // ranks,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        drop_last=True,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed + start_batch),
    )
    return iter(loader)
