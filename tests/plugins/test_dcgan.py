"""DCGAN and cDCGAN, and the checks every DCGAN-family model's tests share (imported by test_wgan, test_acgan)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pluggy
import pytest
import torch
from optuna.distributions import BaseDistribution, CategoricalDistribution

from ganbench import GAN, ModelRequest, ModelSpec, Objective, hookspecs
from ganbench.assembly import build_objective
from ganbench.config import DEFAULTS, FIELDS, RunConfig
from ganbench.errors import ConfigError
from ganbench.registry import Registry
from ganbench_plugins import bce, clip, dcgan, gradient_penalty, losses
from ganbench_plugins.dcgan import Discriminator, build_cdcgan, build_dcgan

SPECS = {spec.name: spec for spec in dcgan.ganbench_models()}


# --------------------------------------------------------------------------- shared checks


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def paper_objective(spec: ModelSpec) -> Objective:
    """The loss and regularizers of the model's paper defaults, built as the engine builds them.

    Only the loss and regularizer plugins are registered: loading every installed plugin takes seconds.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for plugin in (bce, losses, clip, gradient_penalty):
        manager.register(plugin)
    settings = {key: value for key, value in spec.defaults.items() if key in ("loss", "reg", "reg_options")}
    return build_objective(RunConfig(**settings), Registry(manager, {}))


def tiny_request(spec: ModelSpec, resolution: int, channels: int = 3, **options) -> ModelRequest:
    """A small, fast model: width 4, latent 8, 3 classes when conditional."""
    merged = {**spec.options, "width": 4, "embedding_dim": 5, **options}
    known = {key: value for key, value in merged.items() if key in spec.options}
    return ModelRequest(resolution, channels, 3 if spec.conditional else 0, 8, known)


@contextmanager
def one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from a second thread, and lose much when the other core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def check_generate_and_discriminate(model: GAN, resolution: int, channels: int) -> None:
    labels = model.sample_labels(5)
    with one_thread():
        images = model.generate(torch.randn(5, model.z_dim), labels)
    assert images.shape == (5, channels, resolution, resolution)
    assert images.abs().max() <= 1  # tanh output
    assert model.discriminate(images, labels).shape == (5,)


def _optimizers(model: GAN, defaults) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The engine's optimizers as the model's paper defaults configure them."""

    def make(network: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        if defaults.get("optimizer", DEFAULTS.optimizer) == "rmsprop":
            return torch.optim.RMSprop(network.parameters(), lr)
        betas = (defaults.get("beta1", DEFAULTS.beta1), defaults.get("beta2", DEFAULTS.beta2))
        return torch.optim.Adam(network.parameters(), lr, betas=betas)

    return make(model.generator, defaults["lr_g"]), make(model.discriminator, defaults["lr_d"])


def _all_have_gradients(module: torch.nn.Module, nonzero: bool = True) -> bool:
    return all(p.grad is not None and (p.grad.abs().sum() > 0 or not nonzero) for p in module.parameters())


def check_training(spec: ModelSpec, resolution: int, steps: int = 2, **options) -> GAN:
    """A tiny model trained ``steps`` generator steps the way the engine does, with the paper's objective,
    optimizer and n_disc; the trained model.

    Every D step reaches every D parameter and none of G's (the generated batch is detached);
    every G step gives gradients to every G parameter; both networks' weights move. Only the
    first D step must give every D gradient a nonzero value: in a critic whose weights are
    clipped to 0.01 the biases dominate, every sample then takes the same LeakyReLU slopes,
    and the Wasserstein loss's gradient of a bias cancels exactly between real and fake.
    """
    model = spec.build(tiny_request(spec, resolution, **options))
    with one_thread():
        _train(model, spec, resolution, steps)
    return model


def _train(model: GAN, spec: ModelSpec, resolution: int, steps: int) -> None:
    torch.manual_seed(0)
    objective = paper_objective(spec)
    g_optimizer, d_optimizer = _optimizers(model, spec.defaults)
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    for step in range(steps):
        for d_step in range(spec.defaults["n_disc"]):
            real = torch.rand(4, 3, resolution, resolution) * 2 - 1
            labels = model.sample_labels(4)
            model.zero_grad(set_to_none=True)
            d_loss = model.discriminator_loss(real, labels, objective)
            assert torch.isfinite(d_loss)
            d_loss.backward()
            assert _all_have_gradients(model.discriminator, nonzero=step == d_step == 0)
            assert all(p.grad is None for p in model.generator.parameters())  # D's step does not train G
            d_optimizer.step()
            objective.after_discriminator_step(model.discriminator)
        model.zero_grad(set_to_none=True)
        g_loss = model.generator_loss(4, labels, objective)
        assert torch.isfinite(g_loss)
        g_loss.backward()
        assert _all_have_gradients(model.generator)
        g_optimizer.step()  # G's optimizer holds only G's parameters
    assert all(not torch.equal(p, initial[name]) for name, p in model.named_parameters())


def _contains(distribution: BaseDistribution, value) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    return distribution.low <= value <= distribution.high


def check_spec(spec: ModelSpec) -> None:
    """The declarations every model makes, and a search space whose keys name real settings holding the defaults."""
    assert spec.resolutions == (32, 64) and spec.channels == (1, 3)
    assert spec.description and "\n" not in spec.description and spec.citation
    assert set(spec.defaults) <= set(FIELDS)
    assert spec.search_space
    for key, distribution in spec.search_space.items():
        assert isinstance(distribution, BaseDistribution), key
        field, _, rest = key.partition(".")
        assert field in FIELDS, key
        if field == "model_options":
            default = spec.options[rest]
        elif field == "reg_options":
            assert rest.partition(".")[0] in spec.defaults["reg"], key
            default = spec.defaults["reg_options"][rest]
        else:
            assert not rest, key
            default = spec.defaults.get(field, getattr(DEFAULTS, field))
        assert _contains(distribution, default), f"{key}: the default {default} lies outside {distribution}"


# --------------------------------------------------------------------------- dcgan, cdcgan


# Expected counts, by hand from the architecture (bias-free convs, batch norm affine = 2 per channel):
# 64 px, width 64, z 100, RGB is the PyTorch DCGAN example's network: G 3,576,704 and D 2,765,568.
# 32 px drops one doubling: G = 100*256*16 + 512 + 256*128*16 + 256 + 128*64*16 + 128 + 64*3*16 = 1,068,928;
# D = 3*64*16 + 64*128*16 + 256 + 128*256*16 + 512 + 256*1*16 = 663,296.
@pytest.mark.parametrize(("resolution", "g_params", "d_params"), [(32, 1_068_928, 663_296), (64, 3_576_704, 2_765_568)])
def test_dcgan_parameter_counts(resolution, g_params, d_params):
    model = build_dcgan(ModelRequest(resolution, 3, 0, 100, {"width": 64}))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(name, resolution, channels):
    spec = SPECS[name]
    check_generate_and_discriminate(spec.build(tiny_request(spec, resolution, channels)), resolution, channels)


def test_cdcgan_adds_exactly_the_label_embeddings():
    plain = build_dcgan(ModelRequest(32, 1, 0, 100, {"width": 64}))
    conditional = build_cdcgan(ModelRequest(32, 1, 10, 100, {"width": 64, "embedding_dim": 50}))
    # G: embedding 10x50 and 50 more input channels in the first layer (50*256*16);
    # D: a 10 x 32*32 label map and one more input channel in the first conv (1*64*16).
    assert count(conditional.generator) - count(plain.generator) == 10 * 50 + 50 * 256 * 16
    assert count(conditional.discriminator) - count(plain.discriminator) == 10 * 32 * 32 + 64 * 16
    labels = torch.arange(4)
    z = torch.randn(1, 100).repeat(4, 1)
    images = conditional.generate(z, labels)
    assert images.shape == (4, 1, 32, 32)
    assert not torch.allclose(images[0], images[1])  # the label changes the image for the same latent


# Layer norm (GroupNorm(1, C)) and instance norm have a scale and shift per channel like batch norm,
# so D keeps DCGAN's count. Without a norm, D's hidden convs get biases instead of the norm's affine:
# 32 px: 663,296 - 2*(128 + 256) + (64 + 128 + 256) = 662,976;
# 64 px: 2,765,568 - 2*(128 + 256 + 512) + (64 + 128 + 256 + 512) = 2,764,736.
@pytest.mark.parametrize(
    ("resolution", "norm", "d_params"),
    [
        (32, "layer", 663_296),
        (32, "instance", 663_296),
        (32, "none", 662_976),
        (64, "layer", 2_765_568),
        (64, "instance", 2_765_568),
        (64, "none", 2_764_736),
    ],
)
def test_discriminator_normalization(resolution, norm, d_params):
    discriminator = Discriminator(resolution, 3, 64, norm=norm)
    assert count(discriminator) == d_params
    kinds = {"layer": torch.nn.GroupNorm, "instance": torch.nn.InstanceNorm2d}
    norms = [m for m in discriminator.modules() if isinstance(m, (torch.nn.BatchNorm2d, *kinds.values()))]
    assert all(type(m) is kinds[norm] for m in norms)
    assert len(norms) == (0 if norm == "none" else {32: 2, 64: 3}[resolution])  # every conv but the first and last
    assert isinstance(discriminator.net[-1], torch.nn.Conv2d)  # a raw logit: no sigmoid


def test_an_unknown_normalization_is_a_config_error():
    with pytest.raises(ConfigError, match="model_options.norm = 'group' is invalid.*batch, layer, instance, none"):
        build_dcgan(ModelRequest(32, 3, 0, 8, {"width": 4, "norm": "group"}))


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
@pytest.mark.parametrize("resolution", [32, 64])
def test_training_steps(name, resolution):
    check_training(SPECS[name], resolution)


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_spec(name):
    check_spec(SPECS[name])


def test_with_generator_swaps_only_the_generator():
    model = build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8}))
    other = build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8})).generator
    view = model.with_generator(other)
    assert view.generator is other and view.discriminator is model.discriminator
    assert model.generator is not other  # the original is untouched
    z = torch.randn(2, 16)
    assert torch.equal(view.sample(z), other.eval()(z))
