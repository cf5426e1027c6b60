"""DCGAN and its class-conditional variant, and the networks the other DCGAN-family models reuse.

DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016. Strided (transposed)
convolutions, batch norm in both networks except G's output and D's input layers, ReLU in
G, LeakyReLU(0.2) in D, tanh output, N(0, 0.02) initialisation, Adam(2e-4, 0.5, 0.999),
batch 128 in the paper.

cDCGAN: the same networks conditioned on the class by label embedding: the embedding is
appended to G's latent vector and, as an extra image channel, to D's input (the
conditional DCGAN of the playing-cards study; Mirza & Osindero 2014 for conditioning).

How the class enters G is the option ``conditioning`` (cDCGAN and AC-GAN):

- ``concat`` (the default, as the papers do): the label's embedding (``embedding_dim``)
  appended to the latent. G's first batch norm then normalises latent and label together,
  so training can grow the label's share of its batch variance and shrink the latent's:
  on ``shapes`` (11 classes, 32 px, width 32) cDCGAN's images of one class varied across
  latents by a mean per-pixel standard deviation of 0.05-0.07 from step 100 to 500, i.e.
  one image per class whatever the latent (real images of one class: 0.25-0.44), and
  AC-GAN likewise.
- ``batchnorm``: G's input is the latent alone and every batch norm of G is
  class-conditional (a per-class gain and bias; de Vries et al. 2017, as Miyato & Koyama
  2018 and BigGAN condition G). The first batch norm keeps the latent's variation at unit
  scale whatever the classes do: in the same runs the standard deviation was 0.25-0.47
  from step 250 to 1,500. It cures the collapse, not the quality: at 1,000 CPU steps the
  images are still coloured blobs (see ``results/benchmarks/conditional-batchnorm.md``).

The discriminator's normalization is the option ``norm`` (it applies to every conv but the
input layer, as in DCGAN):

- ``batch``: BatchNorm2d, DCGAN's choice. It couples the samples of a batch, so a
  per-sample gradient penalty (WGAN-GP) is not valid with it.
- ``layer``: GroupNorm(1, C), i.e. layer norm over (C, H, W) of each sample with a
  per-channel scale and shift. This is the layer norm of the WGAN-GP authors' code
  (normalised over channels and pixels, affine per channel); ``nn.LayerNorm([C, H, W])``
  would instead learn C*H*W scales tied to one resolution. Its scales start at 1 (the
  N(1, 0.02) initialisation covers batch and instance norm).
- ``instance``: InstanceNorm2d with a per-channel affine (per sample and channel).
- ``none``: no normalization. Then, and only then, D's hidden convs have biases (as the
  WGAN-GP authors' critic does): without a bias or a norm's shift anywhere, the critic
  would be positively homogeneous, D(a*x) = a*D(x) for every a > 0.

batch, layer and instance add 2*C parameters per normalised conv, so a critic with any of
them has exactly the parameters of DCGAN's discriminator. The option ``spectral_norm``
(off by default) wraps every layer of D in spectral normalization (Miyato et al. 2018), on
top of ``norm``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from torch import nn

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, hookimpl
from ganbench.nn import ConditionalBatchNorm2d, LabelMap, concat_label_embedding, normal_init, spectral_norm_all

PAPER_DEFAULTS = {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_disc": 1}
OPTIONS = {"width": 64, "norm": "batch", "spectral_norm": False}
CONDITIONINGS = ("concat", "batchnorm")
CONDITIONAL_OPTIONS = {**OPTIONS, "embedding_dim": 50, "conditioning": "concat"}
NORMS = ("batch", "layer", "instance", "none")

# Search-space pieces the DCGAN family shares (keys are run-configuration fields).
LEARNING_RATES = {"lr_g": FloatDistribution(1e-5, 1e-3, log=True), "lr_d": FloatDistribution(1e-5, 1e-3, log=True)}
ADAM_BETA1 = {"beta1": FloatDistribution(0.0, 0.9)}
SEARCH_SPACE = {**LEARNING_RATES, **ADAM_BETA1, "n_disc": IntDistribution(1, 3)}
CONDITIONING_SPACE = {"model_options.conditioning": CategoricalDistribution(CONDITIONINGS)}


def _doublings(resolution: int) -> int:
    """Stride-2 layers between a 4x4 map and the image."""
    return int(math.log2(resolution // 4))


def check_norm(norm: str, allowed: tuple[str, ...] = NORMS, model: str = "this model") -> str:
    """``norm`` if ``allowed``, else a ConfigError that names the choices."""
    if norm not in allowed:
        raise ConfigError(f"model_options.norm = {norm!r} is invalid for {model}: use one of {', '.join(allowed)}.")
    return norm


def norm_layer(norm: str, channels: int) -> list[nn.Module]:
    """The normalization layer ``norm`` for ``channels`` channels, as a list (empty for none)."""
    if check_norm(norm) == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "layer":
        return [nn.GroupNorm(1, channels)]
    if norm == "instance":
        return [nn.InstanceNorm2d(channels, affine=True)]
    return []


def generator_widths(resolution: int, width: int) -> list[int]:
    """Channels of G's hidden maps, from the 4x4 map (width*2^(k-1)) down to the last (width)."""
    return [width * 2**i for i in reversed(range(_doublings(resolution)))]


class Generator(nn.Module):
    """z (N, z_in) -> a 4x4 map of width*2^(k-1) channels -> k stride-2 transposed convs -> image."""

    def __init__(
        self, z_in: int, resolution: int, channels: int, width: int, label_embedding: nn.Embedding | None = None
    ) -> None:
        super().__init__()
        widths = generator_widths(resolution, width)
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
            assert labels is not None, "a conditional generator needs the labels"
            z = concat_label_embedding(z, labels, self.label_embedding)
        return self.net(z[:, :, None, None])


class ClassNormGenerator(nn.Module):
    """DCGAN's generator with every batch norm class-conditional; its input is the latent alone."""

    def __init__(self, z_dim: int, resolution: int, channels: int, width: int, num_classes: int) -> None:
        super().__init__()
        widths = generator_widths(resolution, width)
        ins, outs = [z_dim, *widths[:-1]], widths
        self.convs = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False)
            for i, (c_in, c_out) in enumerate(zip(ins, outs, strict=True))
        )
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(c, num_classes) for c in widths)
        self.output = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert labels is not None, "a conditional generator needs the labels"
        h = z[:, :, None, None]
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h), labels))
        return torch.tanh(self.output(h))


def discriminator_trunk(c_in: int, resolution: int, width: int, norm: str) -> tuple[list[nn.Module], int]:
    """D's conv layers from the image to a 4x4 map, and that map's channels.

    k stride-2 4x4 convs, width doubling from ``width``, LeakyReLU(0.2), ``norm`` on all but the first.
    """
    k = _doublings(resolution)
    widths = [width * 2**i for i in range(k)]
    bias = norm == "none"
    layers: list[nn.Module] = [nn.Conv2d(c_in, widths[0], 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, True)]
    for w_in, w_out in zip(widths, widths[1:], strict=False):
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=bias), *norm_layer(norm, w_out), nn.LeakyReLU(0.2, True)]
    return layers, widths[-1]


class Discriminator(nn.Module):
    """image -> the conv trunk -> a 4x4 conv to one raw logit (no sigmoid: the loss owns it)."""

    def __init__(
        self, resolution: int, channels: int, width: int, label_map: LabelMap | None = None, norm: str = "batch"
    ) -> None:
        super().__init__()
        c_in = channels + (1 if label_map is not None else 0)
        layers, c_out = discriminator_trunk(c_in, resolution, width, norm)
        self.net = nn.Sequential(*layers, nn.Conv2d(c_out, 1, 4, 1, 0, bias=False))
        self.label_map = label_map

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.label_map is not None:
            images = self.label_map(images, labels)
        return self.net(images).view(-1)


def resolve_options(request: ModelRequest, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The model's options: its declared defaults under what the request gives."""
    return {**defaults, **request.options}


def conditional_generator(request: ModelRequest, options: Mapping[str, Any]) -> nn.Module:
    """cDCGAN's generator, conditioned as ``conditioning`` says (see the module's docstring)."""
    if options["conditioning"] not in CONDITIONINGS:
        raise ConfigError(
            f"model_options.conditioning = {options['conditioning']!r} is invalid: use concat (the label's embedding "
            "appended to the latent) or batchnorm (class-conditional batch norm in every layer of G)."
        )
    if options["conditioning"] == "batchnorm":
        return ClassNormGenerator(
            request.z_dim, request.resolution, request.channels, options["width"], request.num_classes
        )
    embedding = nn.Embedding(request.num_classes, options["embedding_dim"])
    z_in = request.z_dim + options["embedding_dim"]
    return Generator(z_in, request.resolution, request.channels, options["width"], embedding)


def initialise(model: GAN, options: Mapping[str, Any]) -> GAN:
    """DCGAN's N(0, 0.02) initialisation, then spectral norm on D when the options ask for it."""
    normal_init(model)
    if options["spectral_norm"]:
        spectral_norm_all(model.discriminator)
    return model


def build_dcgan(request: ModelRequest, defaults: Mapping[str, Any] = OPTIONS) -> GAN:
    options = resolve_options(request, defaults)
    width, norm = options["width"], check_norm(options["norm"])
    generator = Generator(request.z_dim, request.resolution, request.channels, width)
    discriminator = Discriminator(request.resolution, request.channels, width, norm=norm)
    return initialise(GAN(generator, discriminator, request.z_dim), options)


def build_cdcgan(request: ModelRequest) -> GAN:
    options = resolve_options(request, CONDITIONAL_OPTIONS)
    generator = conditional_generator(request, options)
    label_map = LabelMap(request.num_classes, request.resolution)
    norm = check_norm(options["norm"])
    discriminator = Discriminator(request.resolution, request.channels, options["width"], label_map, norm)
    return initialise(GAN(generator, discriminator, request.z_dim, request.num_classes), options)


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="dcgan",
            description="Deep convolutional GAN (Radford et al. 2016), unconditional.",
            build=build_dcgan,
            resolutions=(32, 64),
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Radford, Metz & Chintala, ICLR 2016, arXiv:1511.06434",
            search_space=SEARCH_SPACE,
        ),
        ModelSpec(
            name="cdcgan",
            description="Class-conditional DCGAN: label embedding in G's latent and as a channel of D's input.",
            build=build_cdcgan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=CONDITIONAL_OPTIONS,
            citation="Radford et al. 2016 with label conditioning (Mirza & Osindero 2014, arXiv:1411.1784)",
            search_space={**SEARCH_SPACE, **CONDITIONING_SPACE},
        ),
    ]
