"""SAGAN: self-attention in both networks.

Zhang, Goodfellow, Metaxas & Odena, "Self-Attention Generative Adversarial Networks", ICML
2019. A self-attention block (``ganbench.nn.SelfAttention``) in G and D, spectral
normalization of every layer of both, class-conditional batch norm in G and a projection
discriminator, hinge loss, and the two time-scale update rule: Adam(lr_g 1e-4, lr_d 4e-4,
0, 0.9) with one D step per G step.

The paper's network is for 128 px ImageNet. At 32 and 64 px this is the SNGAN/cGAN-PD
ResNet (see ``cgan_pd``: G up-blocks of ``2 * width`` channels, D blocks of ``width``)
with the attention block after the G block and the first D block whose maps have
``attention_resolution`` pixels a side. The default 16 is a 16x16 map at 32 px, as in
StudioGAN's CIFAR-10 SAGAN, and keeps 64 px affordable (the paper found attention on the
larger of its middle-to-high feature maps, 32 and 64 of 128, best); 0 removes it (the
paper's SN-only baseline). ``spectral_norm`` is D's and ``g_spectral_norm`` G's (the paper
ablates both). Xavier-uniform initialisation and zero biases, as in the authors' code.
"""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganbench import GAN, ConfigError, ModelRequest, ModelSpec, hookimpl
from ganbench.nn import attention_resolutions
from ganbench_plugins.sngan import build_resnet_gan

PAPER_DEFAULTS = {"loss": "hinge", "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9, "n_disc": 1, "z_dim": 128}
OPTIONS = {"width": 128, "attention_resolution": 16, "spectral_norm": True, "g_spectral_norm": True}
SEARCH_SPACE = {
    "lr_g": FloatDistribution(1e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(1e-5, 2e-3, log=True),
    "beta2": CategoricalDistribution((0.9, 0.999)),
    "n_disc": IntDistribution(1, 5),
    "model_options.attention_resolution": CategoricalDistribution((8, 16)),  # the maps both resolutions have
}


def build_sagan(request: ModelRequest) -> GAN:
    options = request.options
    attention = options["attention_resolution"]
    allowed = (0, *attention_resolutions(request.resolution))
    if attention not in allowed:
        raise ConfigError(
            f"model_options.attention_resolution = {attention} is invalid for sagan at {request.resolution} px: "
            f"use one of {', '.join(map(str, allowed))} (0: no attention)."
        )
    # SAGAN's TensorFlow code initialises every layer with gain 1
    return build_resnet_gan(request, attention, residual_gain=1.0, g_spectral_norm=options["g_spectral_norm"])


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="sagan",
            description="Self-attention GAN (Zhang et al. 2019): attention and spectral norm in G and D, TTUR.",
            build=build_sagan,
            resolutions=(32, 64),
            conditional=True,
            defaults=PAPER_DEFAULTS,
            options=OPTIONS,
            citation="Zhang, Goodfellow, Metaxas & Odena, ICML 2019, arXiv:1805.08318",
            search_space=SEARCH_SPACE,
        )
    ]
