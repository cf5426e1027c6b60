"""Gradient penalties on the discriminator: WGAN-GP's and R1.

- ``gp`` (Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017):
  weight * E[(||grad D(x_hat)||_2 - target)^2] on x_hat = eps * real + (1 - eps) * fake,
  eps ~ U[0, 1] per sample; weight 10 and target 1 as in the paper. The penalty is per
  sample, so a critic with batch norm invalidates it (the paper drops batch norm).
- ``r1`` (Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually
  Converge?", ICML 2018): weight / 2 * E[||grad D(x)||_2^2] on real data only. With
  ``interval`` N > 1 it is lazy (Karras et al., "Analyzing and Improving the Image Quality of
  StyleGAN", CVPR 2020, section 3.1): taken at every N-th discriminator step only (the 1st,
  the N+1-th, ...), with its weight multiplied by N to keep its overall strength, as in
  StyleGAN2's ``R1_reg_interval`` (16 there; default 1 here: every step). Unlike StyleGAN2,
  the term is added to that step's loss rather than taken as a separate optimiser step.

Both differentiate through the gradient (``create_graph``), so the discriminator's step
trains against the penalty. They see the batches after any augmentation (e.g. DiffAugment).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Critic, ModelSpec, Regularizer, RegularizerSpec, hookimpl, per_sample


def input_gradients(critic: Critic, images: torch.Tensor) -> torch.Tensor:
    """grad D(x) of each sample of ``images``, flattened to (N, D), differentiable w.r.t. the critic's weights."""
    images = images.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(images).sum(), images, create_graph=True)
    return gradient.flatten(1)


def check_weight(name: str, weight: float) -> float:
    if weight < 0:
        raise ConfigError(f"reg_options.{name}.weight = {weight} is invalid: it must be >= 0.")
    return float(weight)


class GradientPenalty(Regularizer):
    def __init__(self, weight: float = 10.0, target: float = 1.0) -> None:
        self.weight, self.target = check_weight("gp", weight), float(target)

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        shape = [1] * (real.dim() - 1)
        eps = per_sample(lambda n: torch.rand(n, *shape, device=real.device, dtype=real.dtype), real.shape[0])
        interpolates = eps * real.detach() + (1 - eps) * fake.detach()
        return self.weight * (input_gradients(critic, interpolates).norm(dim=1) - self.target).square().mean()


class R1Penalty(Regularizer):
    def __init__(self, weight: float = 10.0, interval: int = 1) -> None:
        self.weight = check_weight("r1", weight)
        if interval < 1:
            raise ConfigError(f"reg_options.r1.interval = {interval} is invalid: it must be >= 1 (1: every D step).")
        self.interval = int(interval)
        self.calls = 0  # discriminator steps seen: the penalty is asked for once per step

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        due = self.calls % self.interval == 0
        self.calls += 1
        if not due:
            return None
        return self.interval * self.weight / 2 * input_gradients(critic, real).square().sum(dim=1).mean()

    def state_dict(self) -> dict[str, Any]:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.calls = state["calls"]


def refuses_batch_norm(model: ModelSpec, model_options: Mapping[str, Any]) -> str | None:
    if model_options.get("norm") == "batch":
        return (
            f"{model.name}'s discriminator uses batch norm (model option norm = batch), which mixes the samples of a "
            "batch, while the penalty is on each sample's gradient (Gulrajani et al. 2017, section 4). "
            "Pass --model-option norm=layer (or none), or choose wgan-gp."
        )
    return None


def build_gp(options: Mapping[str, Any]) -> GradientPenalty:
    return GradientPenalty(weight=options.get("weight", 10.0), target=options.get("target", 1.0))


def build_r1(options: Mapping[str, Any]) -> R1Penalty:
    return R1Penalty(weight=options.get("weight", 10.0), interval=options.get("interval", 1))


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="gp",
            description="WGAN-GP gradient penalty (Gulrajani et al. 2017) on real/fake interpolates.",
            build=build_gp,
            options={"weight": 10.0, "target": 1.0},
            conflicts=refuses_batch_norm,
            search_space={"weight": FloatDistribution(1.0, 100.0, log=True)},
        ),
        RegularizerSpec(
            name="r1",
            description="R1 penalty on D's gradient at real data (Mescheder et al. 2018).",
            build=build_r1,
            options={"weight": 10.0, "interval": 1},
            search_space={"weight": FloatDistribution(0.01, 100.0, log=True)},
        ),
    ]
