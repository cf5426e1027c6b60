"""Running out of device memory: a clear error for a run, and a clean slate for the next trial."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ganbench.errors import OutOfMemory


@contextmanager
def explaining_out_of_memory(device: torch.device | str, batch_size: int) -> Iterator[None]:
    """Turn PyTorch's out-of-memory error inside the block into ``OutOfMemory`` with what to change."""
    try:
        yield
    except torch.OutOfMemoryError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "out of memory"
        raise OutOfMemory(
            f"{device} ran out of memory ({first_line}). Lower --batch-size (now {batch_size}) or the model's "
            "width (--model-option width=...), or train in mixed precision on a GPU."
        ) from error


def release_cached_memory() -> None:
    """Return what a failed trial left in PyTorch's CUDA cache, so the next trial starts with the whole device."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
