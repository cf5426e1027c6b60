"""cGAN-PD: the class-conditional GAN with a projection discriminator.

Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018. D's logit is
linear(phi(x)) + <embed(y), phi(x)> on its pooled features phi(x), in place of feeding the
label in by concatenation; G is conditioned by class-conditional batch norm (a per-class
gain and bias in every residual block).

The networks are SNGAN's 32 px ResNet (see ``sngan``; the paper's CIFAR experiments use it)
with those two changes: G three up-blocks of 256 channels, D an optimized down-block, a
down-block and two plain blocks of 128, one more up- and down-block at 64 px. Spectral
normalization on every layer of D (the label embedding included), hinge loss,
Adam(2e-4, 0, 0.9), n_disc = 5: the training settings of SNGAN, with its search space.
``width`` is D's channels, G has ``2 * width``.
"""

from __future__ import annotations

from ganbench import ModelSpec, hookimpl
from ganbench_plugins.sngan import PAPER_DEFAULTS, SEARCH_SPACE, build_resnet_gan

OPTIONS = {"width": 128, "spectral_norm": True}


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="cgan-pd",
            description="Conditional GAN with a projection discriminator (Miyato & Koyama 2018), SNGAN ResNet.",
            build=build_resnet_gan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Miyato & Koyama, ICLR 2018, arXiv:1802.05637",
            search_space=SEARCH_SPACE,
        )
    ]
