"""Instance noise: Gaussian noise on every image the discriminator sees, annealed to zero.

Sønderby, Caballero, Theis, Shi & Huszár, "Amortised MAP Inference for Image
Super-resolution", ICLR 2017 (§3.2 and appendix); Arjovsky & Bottou, "Towards Principled
Methods for Training Generative Adversarial Networks", ICLR 2017. Noise makes the real and
generated distributions overlap, so D's gradient stays informative early on. Its standard
deviation falls linearly from ``sigma`` at the first generator step to 0 at the end of the
run; real and generated images get fresh noise alike, in D's step and in G's.
"""

from __future__ import annotations

import torch
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Regularizer, RegularizerSpec, hookimpl, per_sample


class InstanceNoise(Regularizer):
    def __init__(self, sigma: float = 0.1) -> None:
        if sigma < 0:
            raise ConfigError(f"reg_options.instance-noise.sigma = {sigma} is invalid: it must be >= 0.")
        self.initial_sigma = self.sigma = float(sigma)

    def set_progress(self, step: int, steps: int) -> None:
        self.sigma = self.initial_sigma * max(0.0, 1 - step / steps)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return images + self.sigma * _noise(images) if self.sigma > 0 else images


def _noise(images: torch.Tensor) -> torch.Tensor:
    """``randn_like(images)`` (values in its memory order), drawn as this rank's share of the combined batch."""
    shape, stride = images.shape[1:], images.stride()
    return per_sample(
        lambda n: torch.empty_strided((n, *shape), stride, dtype=images.dtype, device=images.device).normal_(),
        images.shape[0],
    )


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="instance-noise",
            description="Gaussian noise on D's inputs, annealed linearly to 0 (Sønderby et al. 2017).",
            build=lambda options: InstanceNoise(sigma=options.get("sigma", 0.1)),
            options={"sigma": 0.1},
            search_space={"sigma": FloatDistribution(0.01, 1.0, log=True)},
        )
    ]
