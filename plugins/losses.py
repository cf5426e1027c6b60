"""Adversarial losses on an unbounded critic output: Wasserstein, hinge and least squares.

- ``wasserstein`` (Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017): the critic
  maximises E[D(x)] - E[D(G(z))], so it minimises mean(fake) - mean(real); the generator
  minimises -mean(fake). It needs a Lipschitz constraint: the ``clip`` or ``gp`` regularizer,
  or spectral normalization.
- ``hinge`` (Lim & Ye, "Geometric GAN", 2017; Miyato et al., "Spectral Normalization for
  GANs", ICLR 2018): relu(1 - D(x)) + relu(1 + D(G(z))) for the discriminator, the
  generator's loss as in ``wasserstein``.
- ``lsgan`` (Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017):
  1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] for the discriminator and
  1/2 E[(D(G(z)) - c)^2] for the generator, with a = 0, b = 1, c = 1 (the paper's second
  setting; its first, a = -1, b = 1, c = 0, is ``--loss-option a=-1 --loss-option c=0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ganbench import LossSpec, hookimpl


class WassersteinLoss:
    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class HingeLoss(WassersteinLoss):
    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


class LeastSquaresLoss:
    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = a, b, c

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (real_logits - self.b).square().mean() + 0.5 * (fake_logits - self.a).square().mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake_logits - self.c).square().mean()


def build_lsgan(options: Mapping[str, Any]) -> LeastSquaresLoss:
    return LeastSquaresLoss(**{key: float(options[key]) for key in ("a", "b", "c") if key in options})


@hookimpl
def ganbench_losses() -> list[LossSpec]:
    return [
        LossSpec(
            name="wasserstein",
            description="Wasserstein critic loss (Arjovsky et al. 2017); needs clip, gp or spectral norm.",
            build=lambda options: WassersteinLoss(),
        ),
        LossSpec(
            name="hinge",
            description="Hinge loss (Lim & Ye 2017; Miyato et al. 2018): relu(1 - D(x)) + relu(1 + D(G(z))).",
            build=lambda options: HingeLoss(),
        ),
        LossSpec(
            name="lsgan",
            description="Least squares (Mao et al. 2017): D pushes real to b and fake to a, G pushes fake to c.",
            build=build_lsgan,
            options={"a": 0.0, "b": 1.0, "c": 1.0},
        ),
    ]
