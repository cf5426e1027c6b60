import pytest
import torch

from ganbench_plugins import cgan_pd, sngan
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

SPEC = cgan_pd.ganbench_models()[0]


# By hand, from SNGAN's ResNet counts (see test_sngan; z 128, RGB) with 10 classes:
# G: each up-block's two batch norms (2 * 2*256) become conditional (2 * 2*10*256): +9,216 a block;
#   32 px, three blocks: 4,276,739 + 3*9,216 = 4,304,387; 64 px, four: 5,523,715 + 4*9,216 = 5,560,579.
#   (The output batch norm stays unconditional.)
# D: the projection's label embedding, 10 x 128: 1,053,825 + 1,280 = 1,055,105; 1,365,505 + 1,280 = 1,366,785.
@pytest.mark.parametrize(
    ("resolution", "g_params", "d_params"), [(32, 4_304_387, 1_055_105), (64, 5_560_579, 1_366_785)]
)
def test_parameter_counts(resolution, g_params, d_params):
    with one_thread():
        model = SPEC.build(full_size(SPEC, resolution))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(resolution, channels):
    check_generate_and_discriminate(SPEC.build(small_request(SPEC, resolution, channels)), resolution, channels)


# D's normalised layers: SNGAN's ResNet D (11 at 32 px, 14 at 64 px) and the label embedding.
@pytest.mark.parametrize(("resolution", "normalised"), [(32, 12), (64, 15)])
def test_training_steps_keep_the_discriminator_spectrally_normalised(resolution, normalised):
    model = check_training(SPEC, small_request(SPEC, resolution))
    check_spectral_norms(model.discriminator, normalised)
    assert is_normalised(model.discriminator.head.embedding)
    assert not any(is_normalised(layer) for layer in model.generator.modules())


def test_the_label_conditions_both_networks():
    torch.manual_seed(0)
    model = SPEC.build(small_request(SPEC, 32))
    z, labels = torch.randn(1, 8).repeat(3, 1), torch.arange(3)
    # conditional batch norm starts at gain 1 and bias 0 for every class: G ignores the label until trained
    images = model.sample(z, labels)
    assert torch.allclose(images[0], images[1]) and torch.allclose(images[1], images[2])
    # the projection's label embedding is random from the start
    logits = model.discriminate(images, labels)
    assert len(set(logits.tolist())) == 3
    trained = check_training(SPEC, small_request(SPEC, 32))
    images = trained.sample(z, labels)
    assert not (torch.allclose(images[0], images[1]) and torch.allclose(images[1], images[2]))


def test_spectral_norm_can_be_switched_off():
    model = SPEC.build(small_request(SPEC, 32, spectral_norm=False))
    assert not any(is_normalised(layer) for layer in model.modules())


def test_spec():
    check_spec(SPEC)
    assert SPEC.conditional
    assert SPEC.defaults == sngan.PAPER_DEFAULTS  # the paper trains with SNGAN's settings
