"""SNGAN."""

from __future__ import annotations

import pytest

from ganbench.errors import ConfigError
from ganbench_plugins import sngan
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

SPEC = sngan.ganbench_models()[0]


# By hand: z 128, RGB, every conv and linear layer with a bias, batch norm 2 parameters per channel.
# ResNet G, 256 channels: linear 128*4*4*256 + 4096 = 528,384;
#   an up-block: BN 512 + conv3x3 (256*256*9 + 256 = 590,080) + BN 512 + conv3x3 590,080
#   + 1x1 shortcut (256*256 + 256 = 65,792) = 1,246,976; output BN 512 + conv3x3 (256*3*9 + 3 = 6,915).
#   32 px, three up-blocks: 528,384 + 3*1,246,976 + 512 + 6,915 = 4,276,739; 64 px, four: 5,523,715.
# ResNet D, 128 channels: optimized block conv3x3 (3*128*9 + 128 = 3,584) + conv3x3 (128*128*9 + 128 = 147,584)
#   + 1x1 shortcut (3*128 + 128 = 512) = 151,680; down-block 2*147,584 + 1x1 shortcut 16,512 = 311,680;
#   block without downsampling (identity shortcut) 2*147,584 = 295,168; linear 128 + 1.
#   32 px: 151,680 + 311,680 + 2*295,168 + 129 = 1,053,825; 64 px, one more down-block: 1,365,505.
# CNN G (Table 3): linear 128 -> BxBx512 (B = 4 at 32 px: 128*8192 + 8192 = 1,056,768), BN 1,024,
#   deconv4x4 512->256 (512*256*16 + 256 = 2,097,408), BN 512, deconv 256->128 (524,416), BN 256,
#   deconv 128->64 (131,136), BN 128, conv3x3 64->3 (1,731) = 3,813,379;
#   64 px (B = 8): the linear is 128*32768 + 32768 = 4,227,072 instead, 6,983,683.
# CNN D: conv3x3 3->64 (1,792), conv4x4 64->64 (65,600), conv3x3 64->128 (73,856), conv4x4 128->128 (262,272),
#   conv3x3 128->256 (295,168), conv4x4 256->256 (1,048,832), conv3x3 256->512 (1,180,160),
#   linear BxBx512 -> 1 (8,193 at 32 px, 32,769 at 64 px) = 2,935,873 and 2,960,449.
@pytest.mark.parametrize(
    ("arch", "resolution", "g_params", "d_params"),
    [
        ("resnet", 32, 4_276_739, 1_053_825),
        ("resnet", 64, 5_523_715, 1_365_505),
        ("cnn", 32, 3_813_379, 2_935_873),
        ("cnn", 64, 6_983_683, 2_960_449),
    ],
)
def test_parameter_counts(arch, resolution, g_params, d_params):
    with one_thread():
        model = sngan.build_sngan(full_size(SPEC, resolution, arch=arch))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("arch", ["resnet", "cnn"])
@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(arch, resolution, channels):
    model = SPEC.build(small_request(SPEC, resolution, channels, arch=arch))
    check_generate_and_discriminate(model, resolution, channels)


# Spectrally normalised layers of D: ResNet, 3 convs in each block with a 1x1 shortcut (the optimized
# and down-blocks), 2 in the others, and the linear layer: 3 + 3 + 2 + 2 + 1 = 11 at 32 px, 14 at 64 px;
# CNN, 7 convs and the linear layer.
# Generator steps (of n_disc = 5 D steps each): enough for every weight to move, with one to spare.
# D's output bias has an exactly zero gradient while every logit is inside the hinge's margin (see
# check_training): from seed 0, the 32 px ResNet's fake logits start near +8 and the first crosses -1
# in the 9th step; the 32 px CNN's in the 3rd, the 64 px CNN's in the 2nd.
@pytest.mark.parametrize(
    ("arch", "resolution", "normalised", "steps"),
    [("resnet", 32, 11, 10), ("resnet", 64, 14, 2), ("cnn", 32, 8, 4)],
)
def test_training_steps_keep_the_discriminator_spectrally_normalised(arch, resolution, normalised, steps):
    model = check_training(SPEC, small_request(SPEC, resolution, arch=arch), steps)
    check_spectral_norms(model.discriminator, normalised)
    assert not any(is_normalised(layer) for layer in model.generator.modules())


def test_training_steps_cnn_64():  # steps: see above
    check_training(SPEC, small_request(SPEC, 64, arch="cnn"), steps=3)


@pytest.mark.parametrize("arch", ["resnet", "cnn"])
def test_spectral_norm_can_be_switched_off(arch):
    model = SPEC.build(small_request(SPEC, 32, arch=arch, spectral_norm=False))
    assert not any(is_normalised(layer) for layer in model.modules())


def test_an_unknown_architecture_is_a_config_error():
    with pytest.raises(ConfigError, match="model_options.arch = 'mlp' is invalid for sngan: use one of resnet, cnn"):
        SPEC.build(small_request(SPEC, 32, arch="mlp"))


def test_spec():
    check_spec(SPEC)
    assert not SPEC.conditional
    assert SPEC.defaults["loss"] == "hinge" and SPEC.defaults["n_disc"] == 5
    assert SPEC.options["spectral_norm"] is True
