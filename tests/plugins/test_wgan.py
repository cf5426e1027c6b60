import pytest
import torch

from ganbench import ModelRequest
from ganbench.errors import ConfigError
from ganbench_plugins import wgan
from tests.support.models import check_generate_and_discriminate, check_spec, check_training, count, tiny_request

SPECS = {spec.name: spec for spec in wgan.ganbench_models()}
NORM_LAYERS = (torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.InstanceNorm2d)


# By hand, 64 channels wide, z 100, RGB. G is DCGAN's (bias-free, batch norm):
#   32 px: 100*256*16 + 2*256 + 256*128*16 + 2*128 + 128*64*16 + 2*64 + 64*3*16 = 1,068,928
#   64 px: 100*512*16 + 2*512 + 512*256*16 + 2*256 + 256*128*16 + 2*128 + 128*64*16 + 2*64 + 64*3*16 = 3,576,704
# The critic has no norm, so its hidden convs carry biases; the last 4x4 conv to one output has none:
#   32 px: 3*64*16 + 64 + 64*128*16 + 128 + 128*256*16 + 256 + 256*1*16 = 662,976
#   64 px: 3*64*16 + 64 + 64*128*16 + 128 + 128*256*16 + 256 + 256*512*16 + 512 + 512*1*16 = 2,764,736
@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
@pytest.mark.parametrize(("resolution", "g_params", "d_params"), [(32, 1_068_928, 662_976), (64, 3_576_704, 2_764_736)])
def test_parameter_counts(name, resolution, g_params, d_params):
    model = SPECS[name].build(ModelRequest(resolution, 3, 0, 100, SPECS[name].options))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_a_raw_critic(name, resolution, channels):
    model = SPECS[name].build(tiny_request(SPECS[name], resolution, channels))
    check_generate_and_discriminate(model, resolution, channels)
    layers = list(model.discriminator.modules())
    assert not any(isinstance(m, (*NORM_LAYERS, torch.nn.Sigmoid)) for m in layers)
    assert isinstance(model.discriminator.net[-1], torch.nn.Conv2d)  # the critic's value is the last conv's output


def test_wgan_gp_refuses_batch_norm_and_takes_layer_norm():
    spec = SPECS["wgan-gp"]
    with pytest.raises(ConfigError, match="norm = 'batch' is invalid for wgan-gp.*per sample.*none, layer, instance"):
        spec.build(tiny_request(spec, 32, norm="batch"))
    layer = spec.build(tiny_request(spec, 32, norm="layer"))
    assert [type(m) for m in layer.discriminator.modules() if isinstance(m, NORM_LAYERS)] == [torch.nn.GroupNorm] * 2
    # the authors' WGAN code keeps batch norm in a clipped critic
    clipped = SPECS["wgan"].build(tiny_request(SPECS["wgan"], 32, norm="batch"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in clipped.discriminator.modules())


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
@pytest.mark.parametrize("resolution", [32, 64])
def test_training_steps(name, resolution):
    check_training(SPECS[name], tiny_request(SPECS[name], resolution))


@pytest.mark.parametrize("norm", ["layer", "instance"])
def test_the_gradient_penalty_trains_through_every_per_sample_norm(norm):
    check_training(SPECS["wgan-gp"], tiny_request(SPECS["wgan-gp"], 32, norm=norm), steps=1)


def test_the_clipped_critic_stays_clipped():
    model = check_training(SPECS["wgan"], tiny_request(SPECS["wgan"], 32), steps=1)
    assert max(p.abs().max() for p in model.discriminator.parameters()) <= 0.01


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_spec(name):
    check_spec(SPECS[name])
    assert not SPECS[name].conditional
