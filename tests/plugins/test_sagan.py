import pytest
import torch

from ganbench.errors import ConfigError
from ganbench.nn import SelfAttention
from ganbench_plugins import sagan
from tests.support.models import (
    check_generate_and_discriminate,
    check_spec,
    check_spectral_norms,
    check_training,
    count,
    full_size,
    is_normalised,
    one_thread,
    small_request,
)

SPEC = sagan.ganbench_models()[0]


# By hand: cGAN-PD's networks (see test_cgan_pd; z 128, RGB, 10 classes) plus one self-attention block
# in each: f, g 1x1 C -> C/8, h 1x1 C -> C/2, v 1x1 C/2 -> C, bias-free, and gamma: 1.25*C^2 + 1.
# G (C = 256): + 81,921: 4,304,387 + 81,921 = 4,386,308 at 32 px, 5,560,579 + 81,921 = 5,642,500 at 64 px.
# D (C = 128): + 20,481: 1,055,105 + 20,481 = 1,075,586 at 32 px, 1,366,785 + 20,481 = 1,387,266 at 64 px.
# Without attention: cGAN-PD's counts.
@pytest.mark.parametrize(
    ("resolution", "attention", "g_params", "d_params"),
    [
        (32, 16, 4_386_308, 1_075_586),
        (64, 16, 5_642_500, 1_387_266),
        (32, 0, 4_304_387, 1_055_105),
    ],
)
def test_parameter_counts(resolution, attention, g_params, d_params):
    with one_thread():
        model = sagan.build_sagan(full_size(SPEC, resolution, attention_resolution=attention))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(resolution, channels):
    check_generate_and_discriminate(SPEC.build(small_request(SPEC, resolution, channels)), resolution, channels)


@pytest.mark.parametrize("resolution", [32, 64])
def test_attention_sits_on_16x16_maps_by_default(resolution):
    model = SPEC.build(small_request(SPEC, resolution))
    sizes = []
    for block in model.modules():
        if isinstance(block, SelfAttention):
            block.register_forward_hook(lambda module, inputs, output: sizes.append(tuple(inputs[0].shape[1:])))
    labels = torch.tensor([0, 1])
    with one_thread():
        model.discriminate(model.generate(torch.randn(2, 8), labels), labels)
    assert sizes == [(16, 16, 16), (8, 16, 16)]  # G's blocks have 16 channels at width 8, D's 8


def test_an_attention_resolution_the_maps_lack_is_a_config_error():
    with pytest.raises(
        ConfigError, match="attention_resolution = 32 is invalid for sagan at 32 px: use one of 0, 8, 16"
    ):
        SPEC.build(small_request(SPEC, 32, attention_resolution=32))


# Normalised layers. G: the linear layer, 3 convs in each up-block, the 4 of the attention block and
# the output conv: 1 + 3*3 + 4 + 1 = 15 at 32 px, 18 at 64 px. D: cGAN-PD's (12 and 15) and the attention's 4.
# Three steps: gamma starts at 0 and moves in each network's first step; the attention convs, whose
# gradients gamma = 0 zeroes, move from the second on (see check_training); one step to spare.
@pytest.mark.parametrize(("resolution", "in_g", "in_d"), [(32, 15, 16), (64, 18, 19)])
def test_training_steps_keep_both_networks_spectrally_normalised(resolution, in_g, in_d):
    model = check_training(SPEC, small_request(SPEC, resolution), steps=3)
    check_spectral_norms(model.generator, in_g)
    check_spectral_norms(model.discriminator, in_d)
    assert all(block.gamma.item() != 0 for block in model.modules() if isinstance(block, SelfAttention))


@pytest.mark.parametrize(("option", "network"), [("g_spectral_norm", "generator"), ("spectral_norm", "discriminator")])
def test_each_network_can_go_without_spectral_norm(option, network):
    model = SPEC.build(small_request(SPEC, 32, **{option: False}))
    for name in ("generator", "discriminator"):
        normalised = any(is_normalised(layer) for layer in getattr(model, name).modules())
        assert normalised == (name != network)


def test_spec():
    check_spec(SPEC)
    assert SPEC.conditional
    defaults = SPEC.defaults
    assert (defaults["lr_g"], defaults["lr_d"], defaults["n_disc"], defaults["loss"]) == (1e-4, 4e-4, 1, "hinge")
