"""What a discriminator and a generator are trained against: a loss plus regularizers.

Regularizers are plugins too. Each plugs into training through the few methods of
``Regularizer``, overriding only those that apply to it: a gradient penalty adds a
``penalty`` to the discriminator's loss, DiffAugment ``augment``s every image the
discriminator sees, weight clipping acts ``after_discriminator_step``, mode seeking adds a
``generator_penalty`` to the generator's loss. The engine and the models call the
``Objective``, never a particular regularizer, so a new one needs no change elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ganbench.specs import Loss

Critic = Callable[[torch.Tensor], torch.Tensor]
# Another generated batch under the same conditions (labels, condition images): (its latents, its images).
Draw = Callable[[], tuple[torch.Tensor, torch.Tensor]]


class Regularizer:
    """A regularizer of training; every method is a no-op until overridden."""

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """Transform a batch the discriminator is about to see (real or generated, in both steps).

        It must be differentiable: the generator's gradient flows through it.
        """
        return images

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """A term added to the discriminator's loss; ``real`` and ``fake`` are the augmented batches."""
        return None

    def output_penalty(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor | None:
        """A term on D's outputs (raw logits of the augmented real and generated batches), added to its loss.

        Called once per discriminator step, so a regularizer that only watches D's outputs (ADA's
        overfitting heuristic) reads them here and returns None.
        """
        return None

    def generator_penalty(self, z: torch.Tensor, fake: torch.Tensor, draw: Draw) -> torch.Tensor | None:
        """A term added to the generator's loss; G made ``fake`` from the latents ``z``, and ``draw()`` makes
        another batch from fresh latents under the same conditions (a second pass through G: call it only if
        the term needs one)."""
        return None

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        """Act on the discriminator's weights after each of its optimiser steps."""

    def set_progress(self, step: int, steps: int) -> None:
        """Told before every generator step how far the run is (for annealed regularizers)."""

    def logged(self) -> dict[str, float]:
        """Scalars of the regularizer's state, logged with the losses (e.g. ADA's augmentation probability)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """What the regularizer has learnt during training (e.g. ADA's p), saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()``'s state when a run resumes."""


class Objective:
    """A loss and the regularizers in the order given; what ``GAN`` methods are handed."""

    def __init__(self, loss: Loss, regularizers: Sequence[Regularizer] = ()) -> None:
        self.loss = loss
        self.regularizers = list(regularizers)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        for regularizer in self.regularizers:
            images = regularizer.augment(images)
        return images

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The loss on D's outputs plus the regularizers' ``output_penalty`` terms: what a GAN's D step calls."""
        loss = self.loss.discriminator_loss(real_logits, fake_logits)
        for regularizer in self.regularizers:
            if (term := regularizer.output_penalty(real_logits, fake_logits)) is not None:
                loss = loss + term
        return loss

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """The regularizers' penalties summed, or None when none adds one."""
        terms = [term for reg in self.regularizers if (term := reg.penalty(critic, real, fake)) is not None]
        return torch.stack(terms).sum() if terms else None

    def generator_penalty(self, z: torch.Tensor, fake: torch.Tensor, draw: Draw) -> torch.Tensor | None:
        """The regularizers' generator penalties summed, or None when none adds one."""
        terms = [term for reg in self.regularizers if (term := reg.generator_penalty(z, fake, draw)) is not None]
        return torch.stack(terms).sum() if terms else None

    def after_discriminator_step(self, discriminator: nn.Module) -> None:
        for regularizer in self.regularizers:
            regularizer.after_discriminator_step(discriminator)

    def set_progress(self, step: int, steps: int) -> None:
        for regularizer in self.regularizers:
            regularizer.set_progress(step, steps)

    def logged(self) -> dict[str, float]:
        return {key: value for regularizer in self.regularizers for key, value in regularizer.logged().items()}

    def state_dict(self) -> list[dict[str, Any]]:
        return [regularizer.state_dict() for regularizer in self.regularizers]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        for regularizer, state in zip(self.regularizers, states, strict=True):
            regularizer.load_state_dict(state)
