"""Mode seeking: a term in the generator's loss that rewards images that differ when their latents do.

Mao, Lee, Tseng, Ma & Yang, "Mode Seeking Generative Adversarial Networks for Diverse Image
Synthesis" (MSGAN), CVPR 2019. G makes a second batch under the same conditions (labels,
condition images) from fresh latents z2 and adds

    weight / (mean|G(z1) - G(z2)| / mean|z1 - z2| + eps)

to its loss, so a generator that ignores its latent (intra-class mode collapse, common in
conditional GANs that take the label at the input) pays for it. Weight 1 and eps 1e-5 as
in the paper's code. It costs one more generator pass per generator step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Draw, ModelSpec, Regularizer, RegularizerSpec, hookimpl

EPS = 1e-5


class ModeSeeking(Regularizer):
    def __init__(self, weight: float = 1.0) -> None:
        if weight < 0:
            raise ConfigError(f"reg_options.mode-seeking.weight = {weight} is invalid: it must be >= 0.")
        self.weight = float(weight)

    def generator_penalty(self, z: torch.Tensor, fake: torch.Tensor, draw: Draw) -> torch.Tensor:
        z2, fake2 = draw()
        ratio = (fake2 - fake).abs().mean() / (z2 - z).abs().mean()
        return self.weight / (ratio + EPS)


def refuses_a_generator_without_noise(model: ModelSpec, model_options: Mapping[str, Any]) -> str | None:
    if model_options.get("noise") is False:
        return (
            f"{model.name} is configured without a latent (model option noise = false), so its images cannot "
            "differ between latents. Drop --reg mode-seeking, or pass --model-option noise=true."
        )
    return None


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="mode-seeking",
            description="Rewards G for images that differ when their latents do (MSGAN, Mao et al. 2019).",
            build=lambda options: ModeSeeking(weight=options.get("weight", 1.0)),
            options={"weight": 1.0},
            conflicts=refuses_a_generator_without_noise,
            search_space={"weight": FloatDistribution(0.1, 10.0, log=True)},
        )
    ]
