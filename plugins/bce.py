"""The original GAN objective: binary cross-entropy on the discriminator's logits.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. The generator minimises
-log D(G(z)) (the non-saturating loss the paper recommends in practice) unless
``saturating`` is set, in which case it minimises log(1 - D(G(z))) as in the minimax game.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ganbench.hookspecs import hookimpl
from ganbench.specs import LossSpec


class BCELoss:
    def __init__(self, saturating: bool = False) -> None:
        self.saturating = saturating

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # softplus(-x) = -log sigmoid(x) and softplus(x) = -log(1 - sigmoid(x)), stable for any logit
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.saturating:
            return -F.softplus(fake_logits).mean()
        return F.softplus(-fake_logits).mean()


def build_bce(options: Mapping[str, Any]) -> BCELoss:
    return BCELoss(saturating=options.get("saturating", False))


@hookimpl
def ganbench_losses() -> list[LossSpec]:
    return [
        LossSpec(
            name="bce",
            description="Binary cross-entropy (Goodfellow et al. 2014); non-saturating G loss by default.",
            build=build_bce,
            options={"saturating": False},
        )
    ]
