"""The original GAN objective: binary cross-entropy on the discriminator's logits.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. The generator minimises
-log D(G(z)) (the non-saturating loss the paper recommends in practice) unless
``saturating`` is set, in which case it minimises log(1 - D(G(z))) as in the minimax game.

``label_smoothing`` = s makes the discriminator's targets for real images 1 - s, leaving
those for generated images at 0 and the generator's loss unchanged: one-sided label
smoothing (Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016, §3.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, LossSpec, hookimpl


class BCELoss:
    def __init__(self, saturating: bool = False, label_smoothing: float = 0.0) -> None:
        if not 0 <= label_smoothing < 1:
            raise ConfigError(f"loss_options.label_smoothing = {label_smoothing} is invalid: it must be in [0, 1).")
        self.saturating = saturating
        self.label_smoothing = label_smoothing

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # softplus(-x) = -log sigmoid(x) and softplus(x) = -log(1 - sigmoid(x)), stable for any logit;
        # a real target t = 1 - s costs t * softplus(-x) + s * softplus(x)
        s = self.label_smoothing
        real_term = (1 - s) * F.softplus(-real_logits) + s * F.softplus(real_logits)
        return real_term.mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.saturating:
            return -F.softplus(fake_logits).mean()
        return F.softplus(-fake_logits).mean()


def build_bce(options: Mapping[str, Any]) -> BCELoss:
    return BCELoss(saturating=options.get("saturating", False), label_smoothing=options.get("label_smoothing", 0.0))


@hookimpl
def ganbench_losses() -> list[LossSpec]:
    return [
        LossSpec(
            name="bce",
            description="Binary cross-entropy (Goodfellow et al. 2014); non-saturating G loss by default, "
            "optional one-sided label smoothing (Salimans et al. 2016).",
            build=build_bce,
            options={"saturating": False, "label_smoothing": 0.0},
            search_space={"label_smoothing": FloatDistribution(0.0, 0.3)},
        )
    ]
