"""AC-GAN: a GAN whose discriminator also classifies.

Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier GANs", ICML
2017. G draws an image of a given class; D sees only the image and has two heads: a
real/fake logit and class logits. D is trained on the adversarial loss plus the
cross-entropy of the class of both real and generated images; G on its adversarial loss
plus the cross-entropy of the class it was asked for (weighted by ``class_weight``, 1 in
the paper). Adam(2e-4, 0.5, 0.999), batch 100 in the paper.

Here G is cDCGAN's generator (by default the label's embedding appended to the latent; the
paper appends the one-hot class, which an embedding generalises; ``conditioning=batchnorm``
conditions G's batch norms instead, see ``ganbench_plugins.dcgan``) and D is DCGAN's conv trunk
(normalization ``norm``, batch norm by default) with two 4x4 conv heads, i.e. linear layers
on the 4x4 map; the paper's D also used dropout, left out here. Generated images are
drawn with the labels of the real batch, as in every ganbench model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from optuna.distributions import FloatDistribution
from torch import nn

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, Objective, hookimpl
from ganbench_plugins.dcgan import (
    ADAM_BETA1,
    CONDITIONAL_OPTIONS,
    CONDITIONING_SPACE,
    LEARNING_RATES,
    PAPER_DEFAULTS,
    check_norm,
    conditional_generator,
    discriminator_trunk,
    initialise,
    resolve_options,
)

OPTIONS = {**CONDITIONAL_OPTIONS, "class_weight": 1.0}
SEARCH_SPACE = {
    **LEARNING_RATES,
    **ADAM_BETA1,
    **CONDITIONING_SPACE,
    "model_options.class_weight": FloatDistribution(0.1, 10.0, log=True),
}


class AuxiliaryClassifierDiscriminator(nn.Module):
    """image -> DCGAN's conv trunk -> a real/fake logit (N,) and class logits (N, num_classes)."""

    def __init__(self, resolution: int, channels: int, width: int, num_classes: int, norm: str = "batch") -> None:
        super().__init__()
        layers, c_out = discriminator_trunk(channels, resolution, width, norm)
        self.trunk = nn.Sequential(*layers)
        self.adversarial = nn.Conv2d(c_out, 1, 4, 1, 0, bias=False)
        self.classifier = nn.Conv2d(c_out, num_classes, 4, 1, 0)

    def heads(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(images)
        return self.adversarial(features).view(-1), self.classifier(features).flatten(1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The real/fake logits only: what the engine, penalties and metrics see. D never reads the labels."""
        return self.adversarial(self.trunk(images)).view(-1)


class ACGAN(GAN):
    """The GAN losses with a class cross-entropy added: on real and generated images for D, generated for G."""

    discriminator: AuxiliaryClassifierDiscriminator

    def __init__(
        self,
        generator: nn.Module,
        discriminator: AuxiliaryClassifierDiscriminator,
        z_dim: int,
        num_classes: int,
        class_weight: float = 1.0,
    ) -> None:
        super().__init__(generator, discriminator, z_dim, num_classes)
        self.class_weight = class_weight

    def class_loss(self, class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.class_weight * F.cross_entropy(class_logits, labels)

    def discriminator_loss(self, real: torch.Tensor, labels: torch.Tensor | None, objective: Objective) -> torch.Tensor:
        assert labels is not None, "AC-GAN trains on labelled batches"
        real, fake = self.discriminator_inputs(real, labels, objective)
        (real_logits, real_classes), (fake_logits, fake_classes) = map(self.discriminator.heads, (real, fake))
        loss = objective.discriminator_loss(real_logits, fake_logits)
        loss = loss + self.class_loss(real_classes, labels) + self.class_loss(fake_classes, labels)
        return self.with_penalty(loss, objective, real, fake, labels)

    def generator_loss(self, batch_size: int, labels: torch.Tensor | None, objective: Objective) -> torch.Tensor:
        assert labels is not None, "AC-GAN trains on labelled batches"
        z, fake = self.draw(batch_size, labels)
        fake_logits, fake_classes = self.discriminator.heads(objective.augment(fake))
        loss = objective.loss.generator_loss(fake_logits) + self.class_loss(fake_classes, labels)
        return self.with_generator_penalty(loss, objective, z, fake, lambda: self.draw(batch_size, labels))


def build_acgan(request: ModelRequest) -> ACGAN:
    options = resolve_options(request, OPTIONS)
    class_weight = float(options["class_weight"])
    if class_weight < 0:
        raise ConfigError(f"model_options.class_weight = {class_weight} is invalid for acgan: it must be >= 0.")
    discriminator = AuxiliaryClassifierDiscriminator(
        request.resolution, request.channels, options["width"], request.num_classes, check_norm(options["norm"])
    )
    generator = conditional_generator(request, options)
    return initialise(ACGAN(generator, discriminator, request.z_dim, request.num_classes, class_weight), options)


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="acgan",
            description="Auxiliary-classifier GAN (Odena et al. 2017): D also classifies real and generated images.",
            build=build_acgan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Odena, Olah & Shlens, ICML 2017, arXiv:1610.09585",
            search_space=SEARCH_SPACE,
        )
    ]
