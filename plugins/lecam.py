"""LeCam regularization: D's outputs kept near moving anchors of its own past outputs.

Tseng, Jiang, Liu, Yang & Yang, "Regularizing Generative Adversarial Networks under Limited
Data", CVPR 2021 (eq. 3). With alpha_R and alpha_F exponential moving averages of D's mean
output on real and on generated images, D's loss gains

    weight * (E[relu(D(x) - alpha_F)^2] + E[relu(alpha_R - D(G(z)))^2]).

It follows the authors' code (github.com/google/lecam-gan, ``lecam_reg`` and ``ema_losses``,
as ported by StudioGAN): the anchors are updated with each discriminator step's batch means
before the penalty is taken, and until generator step ``start`` they are those means
(decay 0) and no penalty applies. Defaults: weight 0.3 (the authors' CIFAR-10 scripts,
``--LC 0.3``, and StudioGAN's CIFAR-10 LeCam configs), decay 0.99 (``ema_losses``),
start 1000 (``ema_losses(start_itr=1000)`` in the authors' ``train.py``). The anchors are
each process's own under distributed training (the authors' code is single-process).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Regularizer, RegularizerSpec, hookimpl

OPTIONS = {"weight": 0.3, "decay": 0.99, "start": 1000}


class LeCam(Regularizer):
    def __init__(self, weight: float = 0.3, decay: float = 0.99, start: int = 1000) -> None:
        if weight < 0:
            raise ConfigError(f"reg_options.lecam.weight = {weight} is invalid: it must be >= 0.")
        if not 0 <= decay < 1:
            raise ConfigError(f"reg_options.lecam.decay = {decay} is invalid: it must be in [0, 1).")
        if start < 0:
            raise ConfigError(f"reg_options.lecam.start = {start} is invalid: it must be >= 0 (generator steps).")
        self.weight, self.decay, self.start = float(weight), float(decay), int(start)
        self.step = 0
        # tensors on D's device once updated, so that a step needs no device sync
        self.anchor_real: torch.Tensor | float = 0.0
        self.anchor_fake: torch.Tensor | float = 0.0

    def set_progress(self, step: int, steps: int) -> None:
        self.step = step

    def output_penalty(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor | None:
        decay = self.decay if self.step >= self.start else 0.0
        real_mean, fake_mean = (logits.detach().float().mean() for logits in (real_logits, fake_logits))
        self.anchor_real = decay * self.anchor_real + (1 - decay) * real_mean
        self.anchor_fake = decay * self.anchor_fake + (1 - decay) * fake_mean
        if self.step < self.start or self.weight == 0:
            return None
        return self.weight * (
            F.relu(real_logits - self.anchor_fake).square().mean()
            + F.relu(self.anchor_real - fake_logits).square().mean()
        )

    def logged(self) -> dict[str, float]:
        return {"lecam_anchor_real": float(self.anchor_real), "lecam_anchor_fake": float(self.anchor_fake)}

    def state_dict(self) -> dict[str, Any]:
        return {"anchor_real": float(self.anchor_real), "anchor_fake": float(self.anchor_fake)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.anchor_real, self.anchor_fake = state["anchor_real"], state["anchor_fake"]


def build(options: Mapping[str, Any]) -> LeCam:
    return LeCam(**{key: options.get(key, default) for key, default in OPTIONS.items()})


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="lecam",
            description="LeCam: D's outputs pulled toward EMA anchors of its past outputs (Tseng et al. 2021).",
            build=build,
            options=OPTIONS,
            search_space={"weight": FloatDistribution(0.01, 1.0, log=True)},
        )
    ]
