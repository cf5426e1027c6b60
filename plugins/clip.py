"""Weight clipping of the critic (Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017).

After every discriminator step each of its parameters is clamped to [-limit, limit]
(c = 0.01 in the paper), which keeps the critic K-Lipschitz for some K. Spectral
normalization constrains the same thing by other means, so a model configured with
``spectral_norm`` is refused rather than trained under both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from optuna.distributions import FloatDistribution
from torch import nn

from ganbench import ConfigError, ModelSpec, Regularizer, RegularizerSpec, hookimpl


class WeightClipping(Regularizer):
    def __init__(self, limit: float = 0.01) -> None:
        if not limit > 0:
            raise ConfigError(f"reg_options.clip.limit = {limit} is invalid: it must be > 0.")
        self.limit = float(limit)

    @torch.no_grad()
    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        for parameter in discriminator.parameters():
            parameter.clamp_(-self.limit, self.limit)


def conflicts(model: ModelSpec, model_options: Mapping[str, Any]) -> str | None:
    if model_options.get("spectral_norm"):
        return (
            f"weight clipping (clip) and spectral normalization ({model.name}'s model option spectral_norm = true) "
            "both constrain the critic's Lipschitz constant, and clipping the weights that spectral norm rescales "
            "defeats it. Use one: drop clip from --reg, or pass --model-option spectral_norm=false."
        )
    return None


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="clip",
            description="Clamp D's weights to [-limit, limit] after each step (WGAN, Arjovsky et al. 2017).",
            build=lambda options: WeightClipping(limit=options.get("limit", 0.01)),
            options={"limit": 0.01},
            conflicts=conflicts,
            search_space={"limit": FloatDistribution(1e-3, 1e-1, log=True)},
        )
    ]
