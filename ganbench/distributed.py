"""Data-parallel training under ``torchrun``: this process's rank, the process group, and the collectives
the training loop needs.

A run started without torchrun (or with one process) is ``SINGLE`` and takes none of these paths. Under
torchrun every rank holds the whole model, trains on its slice of each combined batch and draws its share
of the noise a single process would draw for that batch (``per_sample``), so N ranks train like one
process on the combined batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from ganbench.errors import ConfigError, GanbenchError

T = TypeVar("T")
# A rank that waits longer than this in a collective fails instead of hanging; rank 0 alone scores each
# evaluation while the others wait, so it must cover the slowest evaluation (the first computes reference features).
TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class World:
    """Where this process stands among the processes that train one model."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs to MLflow, prints, and writes checkpoints and sample grids."""
        return self.rank == 0

    def share(self, batch_size: int) -> int:
        """This rank's part of the combined batch."""
        if batch_size % self.size:
            raise ConfigError(
                f"batch_size = {batch_size} is invalid for {self.size} processes: it is the combined batch and "
                f"must split evenly across them. Pass a multiple of {self.size} (e.g. "
                f"{batch_size - batch_size % self.size or self.size}) or start another number of processes."
            )
        return batch_size // self.size

    def average_gradients(self, module: nn.Module) -> None:
        """Replace every gradient of ``module`` by its mean over the ranks: one all-reduce of them all, flattened.

        Not DistributedDataParallel: its reducer averages only the gradients of passes through its own
        ``forward``, and a model's objective may call other methods of its networks (ACGAN's
        ``discriminator.heads``). Averaging after ``backward`` is exact for any model, whatever passes built
        the gradients (D on real and fake, a penalty's double backward, G's step through a frozen D).
        Every rank runs the same code on the same networks, so the same parameters hold gradients.
        """
        if not self.distributed:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        dist.all_reduce(flat)
        flat /= self.size
        for grad, averaged in zip(grads, flat.split([grad.numel() for grad in grads]), strict=True):
            grad.copy_(averaged.view_as(grad))

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The mean of ``tensor`` over the ranks (e.g. each rank's mean loss: the combined batch's mean loss)."""
        if not self.distributed:
            return tensor
        total = tensor.clone()
        dist.all_reduce(total)
        return total / self.size

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any rank."""
        if not self.distributed:
            return flag
        value = torch.tensor([int(flag)], device=_collective_device())
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank (picklable objects)."""
        if not self.distributed:
            return obj
        holder = [obj]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj``, in rank order, on rank 0; None on the others."""
        if not self.distributed:
            return [obj]
        gathered: list[Any] | None = [None] * self.size if self.is_main else None
        dist.gather_object(obj, gathered, dst=0)
        return gathered

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Give every rank rank 0's buffers (as DistributedDataParallel does): batch-norm running statistics
        that were not synchronised while training (SyncBatchNorm needs CUDA) differ between ranks."""
        if not self.distributed:
            return
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


SINGLE = World()


def from_environment() -> World:
    """The world torchrun describes in WORLD_SIZE, RANK and LOCAL_RANK; ``SINGLE`` without them."""
    if "WORLD_SIZE" not in os.environ:
        return SINGLE
    try:
        world = World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    except (KeyError, ValueError) as exc:
        raise GanbenchError(
            f"WORLD_SIZE is set but RANK or LOCAL_RANK is missing or not a number ({exc}). Start data-parallel "
            "runs with torchrun (torchrun --nproc-per-node N -m ganbench run ...), or unset WORLD_SIZE."
        ) from exc
    return world if world.distributed else SINGLE


def rank_device(device: torch.device, world: World) -> torch.device:
    """The device this rank trains on: under torchrun on GPUs, cuda:LOCAL_RANK, one GPU per process."""
    if not world.distributed:
        return device
    if device.type not in ("cuda", "cpu"):
        raise ConfigError(
            f"device = {device} cannot train data-parallel: torchrun runs use CUDA (NCCL) or the CPU (gloo). "
            "Pass --device cuda or --device cpu."
        )
    if device.type == "cpu":
        return device
    if device.index is not None:
        raise ConfigError(
            f"device = {device} is invalid under torchrun: each process trains on cuda:LOCAL_RANK. Pass --device "
            "cuda (or auto), and choose the GPUs with CUDA_VISIBLE_DEVICES."
        )
    if world.local_rank >= torch.cuda.device_count():
        raise ConfigError(
            f"torchrun started {world.local_rank + 1} or more processes on this machine, but it has "
            f"{torch.cuda.device_count()} CUDA devices. Pass --nproc-per-node {torch.cuda.device_count()} or fewer."
        )
    ordinal = torch.device("cuda", world.local_rank)
    torch.cuda.set_device(ordinal)
    return ordinal


def join(world: World, device: torch.device) -> None:
    """Join the ranks of ``world`` in the default process group (NCCL on CUDA, gloo on the CPU); ``leave`` ends it."""
    if world.distributed and not dist.is_initialized():
        cuda = device.type == "cuda"
        dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT, device_id=device if cuda else None)


def leave() -> None:
    """End the process group this process joined, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def per_sample(draw: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
    """``draw(n)``: random values for n samples, drawn from the global generator.

    In a data-parallel run, every rank draws the values of the whole combined batch and keeps its slice:
    rank r gets the rows a single process training on the combined batch would draw for rank r's samples,
    and every rank's generator stays where that process's would be.
    """
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return draw(n)
    rank = dist.get_rank()
    return draw(n * dist.get_world_size())[rank * n : (rank + 1) * n]


def _collective_device() -> torch.device:
    """Where small tensors for collectives live: NCCL reduces CUDA tensors only."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
