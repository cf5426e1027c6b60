"""Wasserstein GANs on DCGAN's networks: weight clipping (WGAN) and gradient penalty (WGAN-GP).

Both use DCGAN's generator and DCGAN's discriminator as the critic, with a raw (unbounded)
output, no sigmoid, and the ``wasserstein`` loss; the critic's normalization is the option
``norm`` (see ``ganbench_plugins.dcgan``: none, layer, instance, batch), default ``none``
here. With ``norm = none`` the critic's hidden convs have biases.

WGAN: Arjovsky, Chintala & Bottou, "Wasserstein Generative Adversarial Networks", ICML 2017.
The critic is kept K-Lipschitz by clipping its weights to [-c, c] after every critic step
(the ``clip`` regularizer, c = 0.01), RMSprop with lr 5e-5 for both networks, 5 critic
steps per generator step, batch 64. The authors' released code keeps batch norm in the
critic (``norm = batch`` reproduces that) and trains the critic 100 times per generator
step for the first 25 generator steps and every 500th; ganbench uses a fixed ``n_disc``.

WGAN-GP: Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, "Improved Training of
Wasserstein GANs", NeurIPS 2017. Clipping is replaced by the penalty
lambda * (||grad D(x_hat)|| - 1)^2 on random interpolates of real and generated images (the
``gp`` regularizer, lambda = 10; some later studies use lambda = 100:
``--reg-option gp.weight=100``), Adam(1e-4, beta1 0, beta2 0.9), 5 critic steps per
generator step. The penalty is per sample, so the critic must not use batch norm: ``norm``
is ``none`` (default) or ``layer`` as the paper suggests (``instance`` is also per sample
and allowed); ``batch`` is refused.
"""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganbench import GAN, ModelRequest, ModelSpec, hookimpl
from ganbench_plugins.dcgan import ADAM_BETA1, LEARNING_RATES, build_dcgan, check_norm, resolve_options

OPTIONS = {"width": 64, "norm": "none", "spectral_norm": False}
GP_NORMS = ("none", "layer", "instance")

WGAN_DEFAULTS = {
    "loss": "wasserstein",
    "optimizer": "rmsprop",
    "lr_g": 5e-5,
    "lr_d": 5e-5,
    "n_disc": 5,
    "reg": ["clip"],
    "reg_options": {"clip.limit": 0.01},
}
WGAN_GP_DEFAULTS = {
    "loss": "wasserstein",
    "optimizer": "adam",
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.0,
    "beta2": 0.9,
    "n_disc": 5,
    "reg": ["gp"],
    "reg_options": {"gp.weight": 10.0},
}

CRITIC_STEPS = {"n_disc": IntDistribution(1, 10)}
# the regularizers' own options (clip.limit, gp.weight) are searched from the ranges their plugins declare
WGAN_SEARCH_SPACE = {**LEARNING_RATES, **CRITIC_STEPS}
WGAN_GP_SEARCH_SPACE = {
    **LEARNING_RATES,
    **CRITIC_STEPS,
    **ADAM_BETA1,
    "beta2": FloatDistribution(0.9, 0.999),
    "model_options.norm": CategoricalDistribution(("none", "layer")),
}


def build_wgan(request: ModelRequest) -> GAN:
    return build_dcgan(request, OPTIONS)


def build_wgan_gp(request: ModelRequest) -> GAN:
    norm = resolve_options(request, OPTIONS)["norm"]
    check_norm(norm, GP_NORMS, "wgan-gp (batch norm mixes the samples of a batch; the gradient penalty is per sample)")
    return build_dcgan(request, OPTIONS)


@hookimpl
def ganbench_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="wgan",
            description="Wasserstein GAN (Arjovsky et al. 2017): DCGAN networks, weight-clipped critic, RMSprop.",
            build=build_wgan,
            resolutions=(32, 64),
            defaults=WGAN_DEFAULTS,
            options=OPTIONS,
            citation="Arjovsky, Chintala & Bottou, ICML 2017, arXiv:1701.07875",
            search_space=WGAN_SEARCH_SPACE,
        ),
        ModelSpec(
            name="wgan-gp",
            description="WGAN-GP (Gulrajani et al. 2017): DCGAN networks, gradient penalty, critic without batch norm.",
            build=build_wgan_gp,
            resolutions=(32, 64),
            defaults=WGAN_GP_DEFAULTS,
            options=OPTIONS,
            citation="Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, NeurIPS 2017, arXiv:1704.00028",
            search_space=WGAN_GP_SEARCH_SPACE,
        ),
    ]
