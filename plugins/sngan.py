"""SNGAN: spectral normalization of the discriminator.

Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial
Networks", ICLR 2018. Every weight of D is divided by its largest singular value (one
power iteration per step); hinge loss, Adam(2e-4, 0, 0.9).

``arch = "resnet"`` (default) is the paper's 32 px ResNet (Table 4, the CIFAR-10 network
of the authors' code): G z -> linear to 4x4x256 -> three up-blocks of 256 channels -> BN,
ReLU, conv3x3, tanh; D an optimized down-block, a down-block and two blocks without
downsampling, all of 128 channels -> ReLU, global sum pooling, linear. Trained with
n_disc = 5. At 64 px G has a fourth up-block and D one more down-block, widths unchanged
(the paper has no 64 px ResNet), so D still pools an 8x8 map.

``arch = "cnn"`` is the paper's standard CNN (Table 3): G z -> linear to BxBx512 -> BN,
ReLU -> three 4x4 stride-2 transposed convs (256, 128, 64) with BN and ReLU -> conv3x3,
tanh; D 3x3 stride-1 and 4x4 stride-2 conv pairs of 64, 128 and 256 channels, a 3x3 conv
of 512, LeakyReLU(0.1) after each, linear. B = resolution / 8 (the paper's own rule for
48 px STL-10), and BN + ReLU after G's linear layer, as in the authors' code; N(0, 0.02)
initialisation. The paper trains the CNN under each setting of its Table 1 (beta1 0.5,
n_disc 1 or 5, e.g. ``--beta1 0.5 --beta2 0.999 --n-disc 1``); the defaults are the ResNet's.

``width`` scales both: D's ResNet blocks have ``width`` channels and G's ``2 * width``;
the CNN's channels are ``width / 2 .. 4 * width``. The default 128 is the paper's.
``spectral_norm = False`` gives the unnormalised D, for ablations. ``build_resnet_gan``
builds the ResNet GAN for cGAN-PD and SAGAN too.
"""

from __future__ import annotations

import math

import torch
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from torch import nn

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, hookimpl
from ganbench.nn import ResNetDiscriminator, ResNetGenerator, normal_init, spectral_norm_all, xavier_init

PAPER_DEFAULTS = {"loss": "hinge", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.0, "beta2": 0.9, "n_disc": 5, "z_dim": 128}
OPTIONS = {"arch": "resnet", "width": 128, "spectral_norm": True}
ARCHS = ("resnet", "cnn")
# The grid of the paper's Table 1 (lr 1e-4 .. 1e-3, beta1 0 or 0.5, beta2 0.9 or 0.999, n_dis 1 or 5), widened.
SEARCH_SPACE = {
    "lr_g": FloatDistribution(1e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(1e-5, 1e-3, log=True),
    "beta1": CategoricalDistribution((0.0, 0.5)),
    "beta2": CategoricalDistribution((0.9, 0.999)),
    "n_disc": IntDistribution(1, 5),
}
# SNGAN's chainer code initialises the 3x3 convs of residual blocks with Glorot-uniform gain sqrt(2)
RESIDUAL_GAIN = math.sqrt(2)


class CNNGenerator(nn.Module):
    """z -> linear to a BxBx(4w) map, BN, ReLU -> three 4x4 stride-2 transposed convs with BN, ReLU -> conv3x3, tanh."""

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int) -> None:
        super().__init__()
        self.bottom, self.top = resolution // 8, 4 * width
        self.linear = nn.Linear(z_dim, self.bottom**2 * self.top)
        widths = [4 * width, 2 * width, width, width // 2]
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for w_in, w_out in zip(widths, widths[1:], strict=False):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.linear(z).view(-1, self.top, self.bottom, self.bottom))


class CNNDiscriminator(nn.Module):
    """image -> (3x3 stride-1, 4x4 stride-2) conv pairs of w/2, w, 2w channels -> 3x3 conv of 4w -> linear.

    LeakyReLU(0.1) after every conv.
    """

    def __init__(self, resolution: int, channels: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels
        for w in (width // 2, width, 2 * width):
            layers += [nn.Conv2d(c_in, w, 3, 1, 1), nn.LeakyReLU(0.1), nn.Conv2d(w, w, 4, 2, 1), nn.LeakyReLU(0.1)]
            c_in = w
        layers += [nn.Conv2d(c_in, 4 * width, 3, 1, 1), nn.LeakyReLU(0.1), nn.Flatten()]
        layers += [nn.Linear((resolution // 8) ** 2 * 4 * width, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).view(-1)


def build_resnet_gan(
    request: ModelRequest,
    attention_resolution: int = 0,
    residual_gain: float = RESIDUAL_GAIN,
    g_spectral_norm: bool = False,
) -> GAN:
    """The ResNet GAN of SNGAN, cGAN-PD and SAGAN: G's blocks ``2 * width`` channels, D's ``width``.

    Class-conditional when the request has classes (conditional batch norm in G, projection
    in D); Xavier-uniform initialisation with ``residual_gain`` in the residual blocks; the
    option ``spectral_norm`` normalises D, ``g_spectral_norm`` G.
    """
    width, classes, attention = request.options["width"], request.num_classes, attention_resolution
    generator = ResNetGenerator(request.z_dim, request.resolution, request.channels, 2 * width, classes, attention)
    discriminator = ResNetDiscriminator(request.resolution, request.channels, width, classes, attention)
    model = GAN(generator, discriminator, request.z_dim, classes)
    xavier_init(model, residual_gain)
    if g_spectral_norm:
        spectral_norm_all(model.generator)
    if request.options["spectral_norm"]:
        spectral_norm_all(model.discriminator)
    return model


def build_sngan(request: ModelRequest) -> GAN:
    arch, width = request.options["arch"], request.options["width"]
    if arch == "resnet":
        return build_resnet_gan(request)
    if arch != "cnn":
        raise ConfigError(f"model_options.arch = {arch!r} is invalid for sngan: use one of {', '.join(ARCHS)}.")
    generator = CNNGenerator(request.z_dim, request.resolution, request.channels, width)
    discriminator = CNNDiscriminator(request.resolution, request.channels, width)
    model = GAN(generator, discriminator, request.z_dim)
    normal_init(model)
    if request.options["spectral_norm"]:
        spectral_norm_all(model.discriminator)
    return model


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="sngan",
            description="Spectrally normalized GAN (Miyato et al. 2018): ResNet or CNN, hinge loss, unconditional.",
            build=build_sngan,
            resolutions=(32, 64),
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Miyato, Kataoka, Koyama & Yoshida, ICLR 2018, arXiv:1802.05957",
            search_space=SEARCH_SPACE,
        )
    ]
