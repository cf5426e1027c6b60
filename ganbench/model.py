"""The GAN base class every model plugin builds.

The training engine owns the loop (optimizers, schedules, checkpoints); a model owns how
one discriminator loss and one generator loss are computed from an ``Objective`` (the
loss and the regularizers). A model with a different objective (an auxiliary classifier, a
penalty on its own outputs) overrides ``discriminator_loss`` or ``generator_loss`` and
leaves the loop alone.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganbench.objective import Objective


class GAN(nn.Module):
    """A generator and a discriminator with the sampling conventions of ganbench.

    Both networks are called with ``(input, labels)``; ``labels`` is None for an
    unconditional model. The generator maps latents of shape (N, z_dim) to images in
    [-1, 1]; the discriminator maps images to raw logits of shape (N,) or (N, 1).
    """

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
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def sample_latent(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=rng, device="cpu" if rng is not None else self.device).to(
            self.device
        )

    def sample_labels(self, n: int, rng: torch.Generator | None = None) -> torch.Tensor | None:
        if not self.conditional:
            return None
        labels = torch.randint(self.num_classes, (n,), generator=rng, device="cpu" if rng is not None else self.device)
        return labels.to(self.device)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, labels if self.conditional else None)

    def with_generator(self, generator: nn.Module) -> GAN:
        """This model with another generator (e.g. a weight average), sharing everything else."""
        view = copy.copy(self)
        view._modules = {**self._modules, "generator": generator}
        return view

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images for evaluation: the generator in eval mode (running batch-norm statistics), no gradients."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generate(z, labels)
        finally:
            self.generator.train(was_training)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images, labels if self.conditional else None).reshape(-1)

    def discriminator_inputs(
        self, real: torch.Tensor, labels: torch.Tensor | None, objective: Objective
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A real batch and as many generated images (no gradient to G), as the discriminator sees them."""
        with torch.no_grad():
            fake = self.generate(self.sample_latent(real.shape[0]), labels)
        return objective.augment(real), objective.augment(fake)

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

    def discriminator_loss(self, real: torch.Tensor, labels: torch.Tensor | None, objective: Objective) -> torch.Tensor:
        """The discriminator's loss on one real batch and as many generated images, penalties included."""
        real, fake = self.discriminator_inputs(real, labels, objective)
        loss = objective.loss.discriminator_loss(self.discriminate(real, labels), self.discriminate(fake, labels))
        return self.with_penalty(loss, objective, real, fake, labels)

    def generator_loss(self, batch_size: int, labels: torch.Tensor | None, objective: Objective) -> torch.Tensor:
        """The generator's loss on ``batch_size`` generated images (labels as in the last real batch)."""
        fake = self.generate(self.sample_latent(batch_size), labels)
        return objective.loss.generator_loss(self.discriminate(objective.augment(fake), labels))
