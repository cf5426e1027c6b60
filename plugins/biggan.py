"""BigGAN: large-scale class-conditional GAN.

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis", ICLR 2019. The networks and training settings are StudioGAN's BigGAN for
CIFAR-10 (POSTECH-CVLab/PyTorch-StudioGAN, src/models/big_resnet.py,
src/configs/CIFAR10/BigGAN.yaml and the defaults of src/config.py), which follows the
authors' BigGAN-PyTorch (ajbrock/BigGAN-PyTorch, BigGAN.py, layers.py):

- hierarchical latent: z is split into one chunk per G block plus one for G's input
  linear layer; each block's conditional batch norms read their chunk with the shared class
  embedding appended (``LinearConditionalBatchNorm2d``: gain 1 + linear, bias linear);
  unconditionally (``conditional = False``) they read the chunk alone, as StudioGAN's
  big_resnet does without labels;
- one self-attention block in G and D, after the blocks whose maps have
  ``attention_resolution`` pixels a side (16 at 32 px: StudioGAN's attn_g_loc [2] and
  attn_d_loc [1]; 0 removes it);
- a projection discriminator (without labels: the linear head alone), spectral norm on
  every layer of G and D except G's shared embedding, orthogonal initialisation, hinge loss,
  Adam(2e-4, 2e-4, 0.5, 0.999), five D steps per G step, an average of G (decay 0.9999 from
  step 1000);
- widths: at 32 px G's three blocks have ``4 * width`` channels and D's four ``2 * width``;
  at 64 px G goes 16w -> 8w -> 4w -> 2w -> w and D w -> 2w -> 4w -> 8w -> 16w, StudioGAN's
  64 px plan (BigGAN-PyTorch's G at 64 px is one step wider: 16w, 16w, 8w, 4w -> 2w).
  ``width`` is StudioGAN's g_conv_dim = d_conv_dim (96 for CIFAR-10).

``truncation`` t > 0 is the truncation trick: latents drawn for evaluation (sample grids,
metrics: every ``sample_latent`` call given a seeded generator) resample each entry with
|z| > t, while training latents stay N(0, I). ``ortho`` is BigGAN's modified orthogonal
regularization of G's weights (the paper's 1e-4 on ImageNet; 0, off, in both references'
CIFAR-10 settings). It lives in the model because a ``Regularizer`` sees G's outputs, not
its weights.
"""

from __future__ import annotations

import math
from functools import partial
from itertools import pairwise

import torch
import torch.nn.functional as F
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from torch import nn

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, Objective, hookimpl
from ganbench.nn import (
    DownBlock,
    LinearConditionalBatchNorm2d,
    ProjectionHead,
    SelfAttention,
    UpBlock,
    attention_resolutions,
    orthogonal_init,
    orthogonal_penalty,
    orthogonal_weights,
    spectral_norm_all,
)

# StudioGAN src/config.py (OPTIMIZATION: g_lr, d_lr, beta1, beta2, d_updates_per_step) and
# src/configs/CIFAR10/BigGAN.yaml (z_dim 80, hinge, g_ema_decay 0.9999, g_ema_start 1000)
PAPER_DEFAULTS = {
    "loss": "hinge",
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "n_disc": 5,
    "z_dim": 80,
    "ema_decay": 0.9999,
    "ema_start": 1000,
}
OPTIONS = {
    "width": 96,  # g_conv_dim = d_conv_dim, CIFAR10/BigGAN.yaml
    "shared_dim": 128,  # g_shared_dim, CIFAR10/BigGAN.yaml
    "attention_resolution": 16,  # attn_g_loc [2], attn_d_loc [1] at 32 px
    "spectral_norm": True,  # apply_d_sn
    "g_spectral_norm": True,  # apply_g_sn
    "conditional": True,  # g_cond_mtd cBN, d_cond_mtd PD
    "truncation": 0.0,  # 0: no truncation (BigGAN-PyTorch sample.py's default z_var 1, no truncation)
    "ortho": 0.0,  # G_ortho 0.0 in BigGAN-PyTorch's scripts/launch_cifar_ema.sh; the paper's ImageNet 1e-4
}
SEARCH_SPACE = {
    "lr_g": FloatDistribution(1e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(1e-5, 1e-3, log=True),
    "beta1": CategoricalDistribution((0.0, 0.5)),
    "n_disc": IntDistribution(1, 5),
    "model_options.ortho": CategoricalDistribution((0.0, 1e-4)),
}
# Channel multipliers of width: G's block inputs and output, D's block outputs and which of them pool
G_PLANS = {32: ((4, 4, 4), 4), 64: ((16, 8, 4, 2), 1)}
D_PLANS = {32: ((2, 2, 2, 2), (True, True, False, False)), 64: ((1, 2, 4, 8, 16), (True, True, True, True, False))}


class BigGANGenerator(nn.Module):
    """z chunk 0 -> linear to 4x4 -> UpBlocks with conditional BN of [chunk i, shared(y)] -> BN, ReLU, conv3x3, tanh."""

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int,
        width: int,
        num_classes: int = 0,
        shared_dim: int = 128,
        attention_resolution: int = 0,
    ) -> None:
        super().__init__()
        multipliers, last = G_PLANS[resolution]
        widths = [m * width for m in (*multipliers, last)]
        self.chunks = len(multipliers) + 1
        if z_dim % self.chunks:
            raise ValueError(f"z_dim {z_dim} must split into {self.chunks} equal chunks at {resolution} px")
        self.chunk = z_dim // self.chunks
        self.bottom = widths[0]
        # a plain parameter, not an nn.Embedding, so that spectral_norm_all leaves it alone (as both references do)
        self.shared = nn.Parameter(torch.empty(num_classes, shared_dim)) if num_classes else None
        norm = partial(LinearConditionalBatchNorm2d, condition_dim=self.chunk + (shared_dim if num_classes else 0))
        self.linear = nn.Linear(self.chunk, 4 * 4 * widths[0])
        self.blocks = nn.ModuleList(UpBlock(c_in, c_out, norm=norm) for c_in, c_out in pairwise(widths))
        # block i outputs a map of 8 * 2**i
        self.attention_after = int(math.log2(attention_resolution // 8)) if attention_resolution else -1
        self.attention = SelfAttention(widths[self.attention_after + 1]) if attention_resolution else None
        self.norm = nn.BatchNorm2d(widths[-1], eps=1e-4)
        self.conv = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def conditions(self, z: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """G's input chunk and each block's conditioning vector: its chunk, then the shared embedding of ``labels``."""
        first, *rest = torch.split(z, self.chunk, dim=1)
        if self.shared is None:
            return first, rest
        if labels is None:
            raise ValueError("a class-conditional BigGAN generator needs labels")
        shared = self.shared[labels]
        return first, [torch.cat([chunk, shared], dim=1) for chunk in rest]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        first, conditions = self.conditions(z, labels)
        h = self.linear(first).view(-1, self.bottom, 4, 4)
        for i, (block, condition) in enumerate(zip(self.blocks, conditions, strict=True)):
            h = block(h, condition)
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return torch.tanh(self.conv(F.relu(self.norm(h))))


class BigGANDiscriminator(nn.Module):
    """image -> optimized DownBlock -> DownBlocks of growing width -> ReLU, sum pooling -> projection head."""

    def __init__(
        self, resolution: int, channels: int, width: int, num_classes: int = 0, attention_resolution: int = 0
    ) -> None:
        super().__init__()
        multipliers, pooling = D_PLANS[resolution]
        widths = [channels] + [m * width for m in multipliers]
        blocks = [DownBlock(channels, widths[1], optimized=True)]
        blocks += [
            DownBlock(c_in, c_out, down) for (c_in, c_out), down in zip(pairwise(widths[1:]), pooling[1:], strict=True)
        ]
        self.blocks = nn.ModuleList(blocks)
        # block i (while pooling) outputs a map of resolution / 2**(i + 1)
        self.attention_after = int(math.log2(resolution // attention_resolution)) - 1 if attention_resolution else -1
        self.attention = SelfAttention(widths[self.attention_after + 1]) if attention_resolution else None
        self.head = ProjectionHead(widths[-1], num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = images
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return self.head(F.relu(h).sum(dim=(2, 3)), labels)


def truncated_normal(n: int, dim: int, threshold: float, rng: torch.Generator) -> torch.Tensor:
    """N(0, I) latents with every entry of magnitude above ``threshold`` redrawn until none is (BigGAN's trick)."""
    z = torch.randn(n, dim, generator=rng)
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=rng)
        outside = z.abs() > threshold
    return z


class BigGAN(GAN):
    """A GAN whose evaluation latents may be truncated and whose G loss may carry orthogonal regularization."""

    def __init__(
        self,
        generator: BigGANGenerator,
        discriminator: nn.Module,
        z_dim: int,
        num_classes: int,
        truncation: float = 0.0,
        ortho: float = 0.0,
    ) -> None:
        super().__init__(generator, discriminator, z_dim, num_classes)
        self.truncation, self.ortho = truncation, ortho

    def sample_latent(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """Training latents (no ``rng``) are N(0, I); seeded ones, drawn for evaluation, are truncated."""
        if rng is None or not self.truncation:
            return super().sample_latent(n, rng)
        return truncated_normal(n, self.z_dim, self.truncation, rng).to(self.device)

    def generator_loss(
        self, batch_size: int, labels: torch.Tensor | None, objective: Objective, **conditions: torch.Tensor
    ) -> torch.Tensor:
        loss = super().generator_loss(batch_size, labels, objective, **conditions)
        if not self.ortho:
            return loss
        shared = self.generator.shared
        weights = orthogonal_weights(self.generator, skip=() if shared is None else (shared,))
        return loss + self.ortho * orthogonal_penalty(weights)


def _check(request: ModelRequest) -> None:
    options, resolution = request.options, request.resolution
    attention = options["attention_resolution"]
    allowed = (0, *attention_resolutions(resolution))
    if attention not in allowed:
        raise ConfigError(
            f"model_options.attention_resolution = {attention} is invalid for biggan at {resolution} px: "
            f"use one of {', '.join(map(str, allowed))} (0: no attention)."
        )
    chunks = len(G_PLANS[resolution][0]) + 1
    if request.z_dim % chunks:
        raise ConfigError(
            f"z_dim = {request.z_dim} is invalid for biggan at {resolution} px: its latent is split into {chunks} "
            f"equal chunks (one for G's input, one per block). Pass a --z-dim divisible by {chunks}, e.g. 80."
        )
    if options["width"] < 4 or options["width"] % 4:
        raise ConfigError(
            f"model_options.width = {options['width']} is invalid for biggan: use a multiple of 4 (default 96) "
            "so that the self-attention blocks have a multiple of 8 channels."
        )
    for key in ("truncation", "ortho"):
        if options[key] < 0:
            raise ConfigError(f"model_options.{key} = {options[key]} is invalid for biggan: use 0 (off) or more.")


def build_biggan(request: ModelRequest) -> GAN:
    _check(request)
    options = request.options
    classes = request.num_classes if options["conditional"] else 0
    width, attention = options["width"], options["attention_resolution"]
    generator = BigGANGenerator(
        request.z_dim, request.resolution, request.channels, width, classes, options["shared_dim"], attention
    )
    discriminator = BigGANDiscriminator(request.resolution, request.channels, width, classes, attention)
    model = BigGAN(generator, discriminator, request.z_dim, classes, options["truncation"], options["ortho"])
    orthogonal_init(model)
    if generator.shared is not None:
        nn.init.orthogonal_(generator.shared)  # StudioGAN initialises G's shared embedding like every other weight
    if options["g_spectral_norm"]:
        spectral_norm_all(generator)
    if options["spectral_norm"]:
        spectral_norm_all(discriminator)
    return model


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="biggan",
            description="BigGAN (Brock et al. 2019): hierarchical z, shared-embedding cBN, attention, projection D.",
            build=build_biggan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Brock, Donahue & Simonyan, ICLR 2019, arXiv:1809.11096",
            search_space=SEARCH_SPACE,
        )
    ]
