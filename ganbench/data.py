"""Batches of real images in an order fixed by the seed, resumable at any step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganbench.specs import ImageDataset


class EpochSampler(Sampler[int]):
    """Endless indices: one permutation per epoch, drawn from (seed, epoch), starting at any position.

    Because the order depends only on the seed and the position, a resumed run reads the
    same batches as an uninterrupted one without storing any data-loader state.
    """

    def __init__(self, size: int, seed: int, start: int = 0) -> None:
        self.size = size
        self.seed = seed
        self.start = start

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.size)
        while True:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
            yield from order[offset:].tolist()
            epoch, offset = epoch + 1, 0


def real_batches(
    dataset: ImageDataset, batch_size: int, seed: int, start_batch: int = 0, workers: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (images, labels) batches; ``start_batch`` skips the batches a resumed run already used."""
    # A whole number of batches per epoch (drop_last semantics) keeps every batch full.
    usable = len(dataset) - len(dataset) % batch_size
    sampler = EpochSampler(usable, seed, start_batch * batch_size)
    # A generator of its own: otherwise the loader draws its worker seed from the global RNG,
    # and a resumed run's noise would drift from the uninterrupted run's.
    loader: DataLoader[Any] = DataLoader(
        cast(Dataset, dataset),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed + start_batch),
    )
    return iter(loader)
