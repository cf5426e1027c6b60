"""StyleGAN2: a style-based generator with modulated convolutions.

Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, "Analyzing and Improving the Image Quality of
StyleGAN", CVPR 2020, as the ADA paper configures it for CIFAR-10 (Karras et al., "Training
Generative Adversarial Networks with Limited Data", NeurIPS 2020): the ``cifar`` config of
NVlabs/stylegan2-ada-pytorch (train.py: cfg_specs['cifar'] and the lines after it), its networks
(training/networks.py) and its loss (training/loss.py):

- G: a mapping network of ``mapping_layers`` (the config's map=2) equalized-lr layers with learning
  rate multiplier 0.01, from the normalised z with the normalised embedding of the one-hot class
  appended (conditional), to w of ``w_dim`` (512) features; a synthesis network from a learnt 4x4
  constant through two modulated, demodulated 3x3 convolutions per resolution (one at 4x4; the
  first upsamples through the FIR filter [1, 3, 3, 1]), each with a noise input, and the skip
  architecture: every resolution's toRGB output is added to the upsampled sum of the lower ones.
  Every layer is ``width`` (512) channels wide: the config's channel_base 32768 and channel_max
  512 give min(32768 / resolution, 512) = 512 at every resolution up to 64.
- D: the 'orig' architecture (the config turns off D's residual one): fromRGB, two 3x3 convs per
  resolution (the second downsampling through the FIR filter), then minibatch standard deviation
  over groups of ``mbstd_group`` (mbstd=32) samples, a 3x3 conv, a fully connected layer and the
  output layer. Conditional, the output has ``width`` features and the logit is their dot product
  with the class's embedding mapped by a mapping network of ``d_mapping_layers`` layers, divided
  by sqrt(width) (8 layers: the config sets only G's mapping to 2).
- equalized learning rate in every layer, leaky ReLU 0.2 times sqrt(2); the non-saturating logistic
  loss (``bce``); lazy R1 with γ = 0.01 every 16 D steps (the ``r1`` regularizer); Adam with β1 0,
  β2 0.99; batch 64; z of 512; an average of G with a half-life of 500k images (ema=500 kimg: decay
  0.5^(64 / 500,000) per step at batch 64) whose half-life ramps up as 0.05 times the images seen
  (ramp=0.05: ``ema_rampup``).
- path length regularization: ``pl_weight`` (0, off, as the config sets it; 2 in the StyleGAN2 paper),
  lazily every ``pl_interval`` (4) G steps on half the batch with decay 0.01 of its running mean;
  style mixing: ``style_mixing``, the probability (0, off, as the config sets it; 0.9 in the paper)
  that a generated batch takes the w of a second latent from a random layer on.
- ``truncation`` ψ (1: off) applies to evaluation images (metrics, grids): w_avg + ψ (w - w_avg), with
  w_avg the moving average of w (decay 0.995) that G tracks while training; ψ = 0 makes every image
  the image of w_avg.

Where it differs from the reference:
- the lazy R1 and path length terms are added to that step's loss (weighted by their interval) instead
  of taken as extra optimizer steps. For those extra steps the reference lowers each network's
  learning rate by interval / (interval + 1) and raises its betas to that power; as path length
  regularization is off, G's extra step does nothing, so the defaults are the learning rates the
  reference trains with (lrate 0.0025: G 0.002, D 0.0025 * 16 / 17) and β2 0.99 for both (one β2 in
  ganbench; the reference's are 0.992 for G and 0.9906 for D);
- ADA, on by default in the reference's train.py, is the separate regularizer ``ada`` (--reg r1,ada);
- no float16 layers or activation clamping (num_fp16_res 4, conv_clamp 256): --precision is ganbench's;
- the average of G averages its buffers too, so its w_avg lags G's (the reference copies it);
- evaluation images use each layer's fixed noise image (the reference's noise_mode 'const', which its
  sample grids use; its metrics draw random noise), so that evaluation is deterministic and leaves
  training's random stream alone;
- a batch that is not a multiple of ``mbstd_group`` (the reference refuses it) takes the largest
  group size that divides it;
- G's output is linear, as in the reference (no tanh): values beyond [-1, 1] are clipped when images
  are converted to 8 bits for metrics and grids.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from optuna.distributions import CategoricalDistribution, FloatDistribution
from torch import nn

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, Objective, hookimpl, per_sample
from ganbench.nn import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStd,
    StyleConv,
    ToRGB,
    normalize_2nd_moment,
)

LRATE = 0.0025  # cfg_specs['cifar'] lrate
# train.py, cfg_specs['cifar'] (mb, lrate, gamma, ema, ramp) and StyleGAN2Loss; see the docstring for the rates
PAPER_DEFAULTS = {
    "loss": "bce",
    "reg": ["r1"],
    "reg_options": {"r1.weight": 0.01, "r1.interval": 16},  # gamma; training_loop's D_reg_interval
    # the rates the reference trains with: lrate times its lazy-regularization factor interval / (interval + 1)
    "lr_g": LRATE * 4 / 5,  # G_reg_interval 4
    "lr_d": LRATE * 16 / 17,  # D_reg_interval 16
    "beta1": 0.0,
    "beta2": 0.99,
    "n_disc": 1,
    "batch_size": 64,
    "z_dim": 512,
    "ema_decay": 0.5 ** (64 / 500_000),
    "ema_rampup": 0.05,
}
OPTIONS = {
    "width": 512,  # channel_max 512 (channel_base 32768: 512 at every resolution up to 64)
    "w_dim": 512,
    "mapping_layers": 2,  # map=2
    "d_mapping_layers": 8,  # MappingNetwork's default: the cifar config leaves D's mapping_kwargs empty
    "mbstd_group": 32,  # mbstd=32
    "conditional": True,
    "truncation": 1.0,  # psi; 1: none
    "style_mixing": 0.0,  # style_mixing_prob 0 for cifar (the paper's 0.9)
    "pl_weight": 0.0,  # pl_weight 0 for cifar (the paper's 2)
    "pl_interval": 4,  # G_reg_interval
}
SEARCH_SPACE = {
    "lr_g": FloatDistribution(2e-4, 1e-2, log=True),
    "lr_d": FloatDistribution(2e-4, 1e-2, log=True),
    "reg_options.r1.weight": FloatDistribution(1e-3, 1.0, log=True),
    "ema_decay": CategoricalDistribution((0.999, PAPER_DEFAULTS["ema_decay"])),
    "model_options.style_mixing": CategoricalDistribution((0.0, 0.9)),
}
W_AVG_DECAY = 0.995  # MappingNetwork's w_avg_beta
MAPPING_LR = 0.01  # MappingNetwork's lr_multiplier
PL_BATCH_SHRINK = 2  # StyleGAN2Loss's pl_batch_shrink
PL_DECAY = 0.01  # StyleGAN2Loss's pl_decay


class MappingNetwork(nn.Module):
    """[normalised z, normalised embedding of the one-hot class] -> w through ``layers`` equalized-lr layers.

    Without a latent (``z_dim`` 0, called with z None) it maps the class alone (D's conditioning).
    """

    def __init__(self, z_dim: int, num_classes: int, w_dim: int, layers: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = EqualizedLinear(num_classes, w_dim) if num_classes else None
        features = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.layers = nn.Sequential(
            *(EqualizedLinear(a, b, lr_multiplier=MAPPING_LR, activation=True) for a, b in pairwise(features))
        )

    def forward(self, z: torch.Tensor | None, labels: torch.Tensor | None) -> torch.Tensor:
        parts = [] if z is None else [normalize_2nd_moment(z)]
        if self.embed is not None:
            if labels is None:
                raise ValueError("a class-conditional StyleGAN2 mapping network needs labels")
            parts.append(normalize_2nd_moment(self.embed(F.one_hot(labels, self.num_classes).float())))
        return self.layers(torch.cat(parts, dim=1))


class SynthesisBlock(nn.Module):
    """One resolution of G: an upsampling StyleConv (not at 4x4, which starts from the constant), a StyleConv,
    and a ToRGB added to the upsampled image of the lower resolutions. It reads one w per conv and one
    more for its ToRGB (the next block's first, as in the reference)."""

    def __init__(self, channels: int, w_dim: int, resolution: int, image_channels: int) -> None:
        super().__init__()
        convs = [StyleConv(channels, channels, w_dim, resolution)]
        if resolution > 4:
            convs.insert(0, StyleConv(channels, channels, w_dim, resolution, up=True))
        self.convs = nn.ModuleList(convs)
        self.to_rgb = ToRGB(channels, image_channels, w_dim)
        self.resolution = resolution

    def forward(
        self, x: torch.Tensor, image: torch.Tensor | None, ws: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        for i, conv in enumerate(self.convs):
            x = conv(x, ws[:, i], self._noise(x) if self.training else None)
        return x, self.to_rgb(x, ws[:, len(self.convs)], image)

    def _noise(self, x: torch.Tensor) -> torch.Tensor:
        size = self.resolution
        return per_sample(lambda n: torch.randn(n, 1, size, size, device=x.device, dtype=x.dtype), x.shape[0])


class StyleGAN2Generator(nn.Module):
    """z (and labels) -> w (``styles``: one per layer, style mixing while training, truncation in eval mode)
    -> images (``synthesize``: the skip synthesis network from the 4x4 constant).

    ``w_avg`` is the moving average of the mapping's w (of the latents G is given, not of the second latents of
    style mixing), updated in training mode: the truncation trick's centre.
    """

    w_avg: torch.Tensor

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int,
        width: int,
        num_classes: int = 0,
        w_dim: int = 512,
        mapping_layers: int = 2,
        truncation: float = 1.0,
        style_mixing: float = 0.0,
    ) -> None:
        super().__init__()
        self.mapping = MappingNetwork(z_dim, num_classes, w_dim, mapping_layers)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.const = nn.Parameter(torch.randn(width, 4, 4))
        resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        blocks = [SynthesisBlock(width, w_dim, r, channels) for r in resolutions]
        self.convs_per_block = [len(block.convs) for block in blocks]
        self.blocks = nn.ModuleList(blocks)
        self.num_ws = sum(self.convs_per_block) + 1
        self.truncation, self.style_mixing = truncation, style_mixing

    def styles(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The w of every layer, (N, num_ws, w_dim)."""
        w = self.mapping(z, labels)
        if self.training:
            self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, W_AVG_DECAY))
        elif self.truncation != 1:
            w = self.w_avg.lerp(w, self.truncation)
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if self.training and self.style_mixing and torch.rand(()) < self.style_mixing:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            other_z = per_sample(lambda n: torch.randn(n, z.shape[1], device=z.device, dtype=z.dtype), z.shape[0])
            other = self.mapping(other_z, labels)
            ws = torch.cat([ws[:, :cutoff], other.unsqueeze(1).expand(-1, self.num_ws - cutoff, -1)], dim=1)
        return ws

    def synthesize(self, ws: torch.Tensor) -> torch.Tensor:
        x, image, first = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1), None, 0
        for block, count in zip(self.blocks, self.convs_per_block, strict=True):
            x, image = block(x, image, ws[:, first : first + count + 1])
            first += count
        assert image is not None
        return image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.synthesize(self.styles(z, labels))


class StyleGAN2Discriminator(nn.Module):
    """fromRGB -> (conv3x3, conv3x3 down) per resolution down to 4x4 -> minibatch std -> conv3x3 -> fc -> out;
    conditional: the output's projection onto the class's mapped embedding."""

    def __init__(
        self,
        resolution: int,
        channels: int,
        width: int,
        num_classes: int = 0,
        mbstd_group: int = 32,
        mapping_layers: int = 8,
    ) -> None:
        super().__init__()
        self.from_rgb = EqualizedConv2d(channels, width, 1)
        layers = []
        for _ in range(int(math.log2(resolution)) - 2):
            layers += [EqualizedConv2d(width, width, 3), EqualizedConv2d(width, width, 3, down=True)]
        self.blocks = nn.Sequential(*layers)
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualizedConv2d(width + 1, width, 3)
        self.fc = EqualizedLinear(width * 4 * 4, width, activation=True)
        self.out = EqualizedLinear(width, width if num_classes else 1)
        self.mapping = MappingNetwork(0, num_classes, width, mapping_layers) if num_classes else None

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(self.mbstd(self.blocks(self.from_rgb(images))))
        x = self.out(self.fc(x.flatten(1)))
        if self.mapping is None:
            return x
        cmap = self.mapping(None, labels)
        return (x * cmap).sum(dim=1) / math.sqrt(cmap.shape[1])


class StyleGAN2(GAN):
    """A GAN whose G loss may carry StyleGAN2's lazy path length regularization (``pl_weight`` > 0)."""

    generator: StyleGAN2Generator
    pl_mean: torch.Tensor  # buffers, registered when pl_weight > 0
    pl_steps: torch.Tensor

    def __init__(
        self,
        generator: StyleGAN2Generator,
        discriminator: nn.Module,
        z_dim: int,
        num_classes: int,
        pl_weight: float = 0.0,
        pl_interval: int = 4,
    ) -> None:
        super().__init__(generator, discriminator, z_dim, num_classes)
        self.pl_weight, self.pl_interval = pl_weight, pl_interval
        if pl_weight:  # the running mean of the path lengths and the G steps taken, kept in checkpoints
            self.register_buffer("pl_mean", torch.zeros(()))
            self.register_buffer("pl_steps", torch.zeros((), dtype=torch.long))

    def generator_loss(
        self, batch_size: int, labels: torch.Tensor | None, objective: Objective, **conditions: torch.Tensor
    ) -> torch.Tensor:
        loss = super().generator_loss(batch_size, labels, objective, **conditions)
        if not self.pl_weight:
            return loss
        due = int(self.pl_steps) % self.pl_interval == 0
        self.pl_steps += 1
        if not due:
            return loss
        return loss + self.pl_interval * self.pl_weight * self.path_length_penalty(batch_size, labels)

    def path_length_penalty(self, batch_size: int, labels: torch.Tensor | None) -> torch.Tensor:
        """E[(|J_w^T y| - a)^2] on half a batch, y random images of unit norm per pixel, a the running mean
        of the lengths (updated here)."""
        n = max(1, batch_size // PL_BATCH_SHRINK)
        ws = self.generator.styles(self.sample_latent(n), None if labels is None else labels[:n])
        images = self.generator.synthesize(ws)
        shape, scale = images.shape[1:], 1 / math.sqrt(images.shape[2] * images.shape[3])
        noise = per_sample(lambda k: torch.randn(k, *shape, device=images.device, dtype=images.dtype), n) * scale
        (gradients,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
        lengths = gradients.square().sum(dim=2).mean(dim=1).sqrt()
        mean = self.pl_mean.lerp(lengths.mean(), PL_DECAY)
        self.pl_mean.copy_(mean.detach())
        return (lengths - mean).square().mean()


# option: (valid, what to use instead)
CHECKS = {
    "width": (lambda v: v >= 1, "use 1 or more channels (default 512)"),
    "w_dim": (lambda v: v >= 1, "use 1 or more features (default 512)"),
    "mapping_layers": (lambda v: v >= 1, "use 1 or more layers (default 2, the paper's 8)"),
    "d_mapping_layers": (lambda v: v >= 1, "use 1 or more layers (default 8)"),
    "mbstd_group": (lambda v: v >= 1, "use a group of 1 or more samples (default 32)"),
    "truncation": (lambda v: 0 <= v <= 1, "use a value in [0, 1] (1: no truncation; 0: every image is w_avg's)"),
    "style_mixing": (lambda v: 0 <= v <= 1, "use a probability in [0, 1] (0: off; the paper's 0.9)"),
    "pl_weight": (lambda v: v >= 0, "use 0 (off) or more (the paper's 2)"),
    "pl_interval": (lambda v: v >= 1, "use 1 (every G step) or more (default 4)"),
}


def _check(request: ModelRequest) -> None:
    for key, (valid, fix) in CHECKS.items():
        if not valid(request.options[key]):
            raise ConfigError(f"model_options.{key} = {request.options[key]} is invalid for stylegan2: {fix}.")


def build_stylegan2(request: ModelRequest) -> GAN:
    _check(request)
    options = request.options
    classes = request.num_classes if options["conditional"] else 0
    generator = StyleGAN2Generator(
        request.z_dim,
        request.resolution,
        request.channels,
        options["width"],
        classes,
        options["w_dim"],
        options["mapping_layers"],
        options["truncation"],
        options["style_mixing"],
    )
    discriminator = StyleGAN2Discriminator(
        request.resolution,
        request.channels,
        options["width"],
        classes,
        options["mbstd_group"],
        options["d_mapping_layers"],
    )
    return StyleGAN2(generator, discriminator, request.z_dim, classes, options["pl_weight"], options["pl_interval"])


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="stylegan2",
            description="StyleGAN2 (Karras et al. 2020): mapping network, modulated convs, skip G, lazy R1.",
            build=build_stylegan2,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Karras et al., CVPR 2020, arXiv:1912.04958; CIFAR-10 config of Karras et al., NeurIPS 2020",
            search_space=SEARCH_SPACE,
        )
    ]
