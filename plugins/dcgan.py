"""DCGAN and its class-conditional variant.

DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016. Strided (transposed)
convolutions, batch norm in both networks except G's output and D's input layers, ReLU in
G, LeakyReLU(0.2) in D, tanh output, N(0, 0.02) initialisation, Adam(2e-4, 0.5, 0.999),
batch 128 in the paper.

cDCGAN: the same networks conditioned on the class by label embedding: the embedding is
appended to G's latent vector and, as an extra image channel, to D's input (the
conditional DCGAN of the playing-cards study; Mirza & Osindero 2014 for conditioning).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganbench.hookspecs import hookimpl
from ganbench.model import GAN
from ganbench.nn import LabelMap, concat_label_embedding, normal_init
from ganbench.specs import ModelRequest, ModelSpec

PAPER_DEFAULTS = {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_disc": 1}
OPTIONS = {"width": 64, "embedding_dim": 50}


def _doublings(resolution: int) -> int:
    """Stride-2 layers between a 4x4 map and the image."""
    return int(math.log2(resolution // 4))


class Generator(nn.Module):
    """z (N, z_in) -> a 4x4 map of width*2^(k-1) channels -> k stride-2 transposed convs -> image."""

    def __init__(
        self, z_in: int, resolution: int, channels: int, width: int, label_embedding: nn.Embedding | None = None
    ) -> None:
        super().__init__()
        k = _doublings(resolution)
        widths = [width * 2**i for i in reversed(range(k))]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_in, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths, widths[1:], strict=False):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.label_embedding = label_embedding

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_embedding is not None:
            z = concat_label_embedding(z, labels, self.label_embedding)
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """image -> k stride-2 convs (no batch norm on the first) -> a 4x4 conv to one logit."""

    def __init__(self, resolution: int, channels: int, width: int, label_map: LabelMap | None = None) -> None:
        super().__init__()
        k = _doublings(resolution)
        widths = [width * 2**i for i in range(k)]
        c_in = channels + (1 if label_map is not None else 0)
        layers: list[nn.Module] = [nn.Conv2d(c_in, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        self.label_map = label_map

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_map is not None:
            images = self.label_map(images, labels)
        return self.net(images).view(-1)


def build_dcgan(request: ModelRequest) -> GAN:
    width = request.options["width"]
    generator = Generator(request.z_dim, request.resolution, request.channels, width)
    discriminator = Discriminator(request.resolution, request.channels, width)
    model = GAN(generator, discriminator, request.z_dim)
    normal_init(model)
    return model


def build_cdcgan(request: ModelRequest) -> GAN:
    width, embedding_dim = request.options["width"], request.options["embedding_dim"]
    embedding = nn.Embedding(request.num_classes, embedding_dim)
    generator = Generator(request.z_dim + embedding_dim, request.resolution, request.channels, width, embedding)
    label_map = LabelMap(request.num_classes, request.resolution)
    discriminator = Discriminator(request.resolution, request.channels, width, label_map)
    model = GAN(generator, discriminator, request.z_dim, request.num_classes)
    normal_init(model)
    return model


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="dcgan",
            description="Deep convolutional GAN (Radford et al. 2016), unconditional.",
            build=build_dcgan,
            resolutions=(32, 64),
            defaults=PAPER_DEFAULTS,
            options={"width": OPTIONS["width"]},
            citation="Radford, Metz & Chintala, ICLR 2016, arXiv:1511.06434",
        ),
        ModelSpec(
            name="cdcgan",
            description="Class-conditional DCGAN: label embedding in G's latent and as a channel of D's input.",
            build=build_cdcgan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Radford et al. 2016 with label conditioning (Mirza & Osindero 2014, arXiv:1411.1784)",
        ),
    ]
