"""A tiny fully-connected GAN, registered with ganbench through the entry-point group ``ganbench``."""

import math

import torch
from torch import nn

from ganbench import GAN, ModelRequest, ModelSpec, hookimpl


class Generator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.shape = shape
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(shape)), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class Discriminator(nn.Module):
    def __init__(self, shape: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).view(-1)


def build(request: ModelRequest) -> GAN:
    shape = (request.channels, request.resolution, request.resolution)
    hidden = request.options["hidden"]
    return GAN(Generator(request.z_dim, shape, hidden), Discriminator(shape, hidden), request.z_dim)


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="tiny-mlp",
            description="Two-layer MLP generator and discriminator (example plugin).",
            build=build,
            resolutions=(16, 32),
            defaults={"lr_g": 1e-3, "lr_d": 1e-3},
            options={"hidden": 128},
        )
    ]
