"""DiffAugment: the same differentiable augmentation of every image the discriminator sees.

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020. Real and generated images are augmented alike, in D's step and in G's step,
so the generator's gradient flows through the augmentation. This follows the authors'
``DiffAugment_pytorch.py`` (images in [-1, 1], a fresh draw per image):

- ``color``: brightness + U[-0.5, 0.5]; saturation (deviation from the channel mean) x U[0, 2]
  (a no-op on one channel); contrast (deviation from the image mean) x U[0.5, 1.5].
- ``translation``: shift by up to 1/8 of the image size in each direction, filling with 0.
- ``cutout``: zero a square of half the image size at a random centre (clipped at the edges).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from optuna.distributions import CategoricalDistribution

from ganbench import ConfigError, Regularizer, RegularizerSpec, hookimpl, per_sample

TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def _per_image(x: torch.Tensor) -> torch.Tensor:
    """One U[0, 1) draw per image, shaped to broadcast over (C, H, W)."""
    return per_sample(lambda n: torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device), x.shape[0])


def _offsets(x: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """One integer in [low, high) per image, shaped (N, 1, 1)."""
    return per_sample(lambda n: torch.randint(low, high, (n, 1, 1), device=x.device), x.shape[0])


def color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_per_image(x) - 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)
    x = (x - channel_mean) * (_per_image(x) * 2) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - image_mean) * (_per_image(x) + 0.5) + image_mean


def translation(x: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    shift_h, shift_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # indices into the image padded by one zero pixel; anything shifted out of range reads the padding
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + _offsets(x, -shift_h, shift_h + 1)).clamp(-1, h) + 1
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + _offsets(x, -shift_w, shift_w + 1)).clamp(-1, w) + 1
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)
    return padded[torch.arange(n, device=x.device).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    _, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = _offsets(x, 0, h + (1 - size_h % 2)) - size_h // 2
    left = _offsets(x, 0, w + (1 - size_w % 2)) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    names = [name.strip() for name in policy.split(",") if name.strip()]
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(
            f"reg_options.diffaugment.policy = {policy!r} is invalid: {', '.join(unknown)} is not an augmentation. "
            f"Use a comma-separated list of {', '.join(AUGMENTATIONS)}."
        )
    return [AUGMENTATIONS[name] for name in names]


class DiffAugment(Regularizer):
    def __init__(self, policy: str = "color,translation,cutout") -> None:
        self.policy = policy
        self.augmentations = parse_policy(policy)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        for augmentation in self.augmentations:
            images = augmentation(images)
        return images


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="diffaugment",
            description="Differentiable augmentation of every image D sees (DiffAugment, Zhao et al. 2020).",
            build=lambda options: DiffAugment(policy=options.get("policy", "color,translation,cutout")),
            options={"policy": "color,translation,cutout"},
            search_space={
                "policy": CategoricalDistribution(("color,translation,cutout", "translation,cutout", "translation"))
            },
            augments=True,
        )
    ]
