"""The GAN base class every model plugin builds.

The training engine owns the loop (optimizers, schedules, checkpoints); a model owns how
one discriminator loss and one generator loss are computed from an ``Objective`` (the
loss and the regularizers). A model with a different objective (an auxiliary classifier, a
penalty on its own outputs) overrides ``discriminator_loss`` or ``generator_loss`` and
leaves the loop alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ganbench.distributed import per_sample
from ganbench.objective import Draw, Objective


class GAN(nn.Module):
    """A generator and a discriminator with the sampling conventions of ganbench.

    Both networks are called with ``(input, labels)``; ``labels`` is None for an
    unconditional model. The generator maps latents of shape (N, z_dim) to images in
    [-1, 1]; the discriminator maps images to raw logits of shape (N,) or (N, 1).
    """

    condition_channels = 0  # see ImageConditionedGAN

    def __init__(self, generator: nn.Module, discriminator: nn.Module, z_dim: int, num_classes: int = 0) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.z_dim = z_dim
        self.num_classes = num_classes

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def image_conditioned(self) -> bool:
        return self.condition_channels > 0

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def sample_latent(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        """Latents from ``rng`` (on the CPU), else from the global generator as each rank's share (``per_sample``)."""
        if rng is None:
            return per_sample(lambda k: torch.randn(k, self.z_dim, device=self.device), n)
        return torch.randn(n, self.z_dim, generator=rng).to(self.device)

    def sample_labels(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor | None:
        if not self.conditional:
            return None
        if rng is None:
            return per_sample(lambda k: torch.randint(self.num_classes, (k,), device=self.device), n)
        return torch.randint(self.num_classes, (n,), generator=rng).to(self.device)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, labels if self.conditional else None)

    def with_generator(self, generator: nn.Module) -> GAN:
        """This model with another generator (e.g. a weight average), sharing everything else."""
        view = copy.copy(self)
        view._modules = {**self._modules, "generator": generator}
        return view

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None, **conditions: torch.Tensor) -> torch.Tensor:
        """Images for evaluation: the generator in eval mode (running batch-norm statistics), no gradients."""
        with self.generator_in_eval_mode():
            return self.generate(z, labels, **conditions)

    @contextmanager
    def generator_in_eval_mode(self) -> Iterator[None]:
        was_training = self.generator.training
        self.generator.eval()
        try:
            yield
        finally:
            self.generator.train(was_training)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images, labels if self.conditional else None).reshape(-1)

    def critic_input(self, images: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor:
        """What the discriminator sees of ``images`` (before augmentation): the images themselves."""
        return images

    def discriminator_inputs(
        self, real: torch.Tensor, labels: torch.Tensor | None, objective: Objective, **conditions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A real batch and as many generated images (no gradient to G), as the discriminator sees them."""
        with torch.no_grad():
            fake = self.generate(self.sample_latent(real.shape[0]), labels, **conditions)
        return (
            objective.augment(self.critic_input(real, **conditions)),
            objective.augment(self.critic_input(fake, **conditions)),
        )

    def with_penalty(
        self,
        loss: torch.Tensor,
        objective: Objective,
        real: torch.Tensor,
        fake: torch.Tensor,
        labels: torch.Tensor | None,
    ) -> torch.Tensor:
        """``loss`` plus the regularizers' penalties on the discriminator's inputs."""
        penalty = objective.penalty(lambda images: self.discriminate(images, labels), real, fake)
        return loss if penalty is None else loss + penalty

    def discriminator_loss(
        self, real: torch.Tensor, labels: torch.Tensor | None, objective: Objective, **conditions: torch.Tensor
    ) -> torch.Tensor:
        """The discriminator's loss on one real batch and as many generated images, penalties included."""
        real, fake = self.discriminator_inputs(real, labels, objective, **conditions)
        loss = objective.discriminator_loss(self.discriminate(real, labels), self.discriminate(fake, labels))
        return self.with_penalty(loss, objective, real, fake, labels)

    def draw(
        self, n: int, labels: torch.Tensor | None, **conditions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fresh latents for ``n`` samples and G's images of them, with gradients (G's side of training)."""
        z = self.sample_latent(n)
        return z, self.generate(z, labels, **conditions)

    def with_generator_penalty(
        self, loss: torch.Tensor, objective: Objective, z: torch.Tensor, fake: torch.Tensor, draw: Draw
    ) -> torch.Tensor:
        """``loss`` plus the regularizers' penalties on the generator (``draw``: another batch, same conditions)."""
        penalty = objective.generator_penalty(z, fake, draw)
        return loss if penalty is None else loss + penalty

    def generator_loss(
        self, batch_size: int, labels: torch.Tensor | None, objective: Objective, **conditions: torch.Tensor
    ) -> torch.Tensor:
        """The generator's loss on ``batch_size`` generated images (labels as in the last real batch)."""
        z, fake = self.draw(batch_size, labels, **conditions)
        loss = objective.loss.generator_loss(
            self.discriminate(objective.augment(self.critic_input(fake, **conditions)), labels)
        )
        return self.with_generator_penalty(
            loss, objective, z, fake, lambda: self.draw(batch_size, labels, **conditions)
        )


class ImageConditionedGAN(GAN):
    """A GAN conditioned on an image per sample (a sketch, edge map or mask) and, when ``num_classes`` > 0, a label.

    The generator is called ``(z, labels, conditions)``; the discriminator sees each image with
    its condition image appended as channels (``critic_input``) and the labels, so
    regularizers (gradient penalty, augmentations) act on the (image, condition) pair. Its
    methods take the condition images as the keyword ``conditions``, which the engine passes
    only to image-conditioned models.
    """

    def __init__(
        self, generator: nn.Module, discriminator: nn.Module, z_dim: int, num_classes: int, condition_channels: int
    ) -> None:
        super().__init__(generator, discriminator, z_dim, num_classes)
        if condition_channels < 1:
            raise ValueError(
                f"an image-conditioned GAN needs condition images of 1 or more channels, not {condition_channels}"
            )
        self.condition_channels = condition_channels

    def generate(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, conditions: torch.Tensor | None = None
    ) -> torch.Tensor:
        if conditions is None:
            raise ValueError("an image-conditioned generator needs the condition images")
        return self.generator(z, labels if self.conditional else None, conditions)

    def critic_input(self, images: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        """What the discriminator sees of ``images``: the images with their condition images as further channels."""
        if conditions is None:
            raise ValueError("an image-conditioned discriminator needs the condition images")
        return torch.cat([images, conditions.to(images.dtype)], dim=1)
