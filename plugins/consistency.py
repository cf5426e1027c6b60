"""Consistency regularization: D's output should not change under a flip and a small shift.

Zhang, Zhang, Odena & Lee, "Consistency Regularization for Generative Adversarial
Networks", ICLR 2020 (Algorithm 1): D's loss gains weight * E[||D(x) - D(T(x))||^2] on real
images x, T a random horizontal flip and a shift of a few pixels. As in StudioGAN's
``CR_DiffAug`` (src/utils/cr_diff_aug.py): each image is flipped with probability 1/2 and
shifted by up to 1/8 of its size, the vacated pixels zero (DiffAugment's ``translation``).
Weight 10 as in the paper (lambda = 10) and StudioGAN's CIFAR-10 CR configs (cr_lambda 10).
``x`` is the real batch as D sees it (after any augmenting regularizer), and D's outputs
are its raw logits. The penalty takes two extra passes of D over the real batch.
"""

from __future__ import annotations

import torch
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Critic, Regularizer, RegularizerSpec, hookimpl, per_sample
from ganbench_plugins.diffaugment import translation


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    flip = per_sample(lambda n: torch.rand(n, 1, 1, 1, device=images.device), images.shape[0]) < 0.5
    return torch.where(flip, images.flip(3), images)


def flip_and_translate(images: torch.Tensor) -> torch.Tensor:
    return translation(random_flip(images))


class ConsistencyRegularization(Regularizer):
    def __init__(self, weight: float = 10.0) -> None:
        if weight < 0:
            raise ConfigError(f"reg_options.cr.weight = {weight} is invalid: it must be >= 0.")
        self.weight = float(weight)

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real = real.detach()
        return self.weight * (critic(real) - critic(flip_and_translate(real))).square().mean()


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="cr",
            description="Consistency regularization: D(x) close to D(flipped, shifted x) (Zhang et al. 2020).",
            build=lambda options: ConsistencyRegularization(weight=options.get("weight", 10.0)),
            options={"weight": 10.0},
            search_space={"weight": FloatDistribution(0.1, 100.0, log=True)},
        )
    ]
