"""The optimizers and learning-rate schedules a run configures, built from torch's own."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LRScheduler

from ganbench.config import RunConfig, lr_end_factor


def build_optimizer(network: torch.nn.Module, lr: float, config: RunConfig) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(network.parameters(), lr=lr)
    return torch.optim.Adam(network.parameters(), lr=lr, betas=(config.beta1, config.beta2))


def build_schedule(optimizer: torch.optim.Optimizer, config: RunConfig) -> LRScheduler:
    """The learning rate over the run's generator steps, from its first value to ``lr_end_factor`` of it."""
    schedules = torch.optim.lr_scheduler
    end = lr_end_factor(config)
    if config.lr_schedule == "linear":
        return schedules.LinearLR(optimizer, start_factor=1.0, end_factor=end, total_iters=config.steps)
    if config.lr_schedule == "cosine":
        (base_lr,) = {group["lr"] for group in optimizer.param_groups}
        return schedules.CosineAnnealingLR(optimizer, T_max=config.steps, eta_min=base_lr * end)
    return schedules.ExponentialLR(optimizer, gamma=end ** (1 / config.steps))
