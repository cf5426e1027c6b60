import math

import pytest
import torch

from ganbench.nn import ResNetDiscriminator, ResNetGenerator, normal_init, spectral_norm_all, xavier_init


def _bound(layer: torch.nn.Module, gain: float) -> float:
    """The Xavier-uniform bound, gain * sqrt(6 / (fan_in + fan_out))."""
    receptive = layer.weight[0, 0].numel()
    fan_in, fan_out = layer.weight.shape[1] * receptive, layer.weight.shape[0] * receptive
    return gain * math.sqrt(6 / (fan_in + fan_out))


def test_xavier_init_uses_the_residual_gain_only_inside_residual_blocks():
    torch.manual_seed(0)
    generator = ResNetGenerator(8, 32, 3, 32, num_classes=3)
    xavier_init(generator, residual_gain=math.sqrt(2))
    residual = [conv for block in generator.blocks for conv in (block.conv1, block.conv2)]
    others = [generator.linear, generator.conv] + [block.shortcut for block in generator.blocks]
    for layer, gain in [(conv, math.sqrt(2)) for conv in residual] + [(layer, 1.0) for layer in others]:
        bound = _bound(layer, gain)
        # uniform on [-bound, bound]: the largest of thousands of draws is within a few percent of the bound
        assert 0.9 * bound < layer.weight.abs().max() <= bound
        assert torch.count_nonzero(layer.bias) == 0
    # the conditional norms keep their per-class gain 1 and bias 0
    assert torch.equal(generator.blocks[0].norm1.gain, torch.ones(3, 32))
    assert torch.count_nonzero(generator.blocks[0].norm1.bias) == 0


def test_normal_init_draws_convs_at_dcgan_scale_and_leaves_label_embeddings_at_unit_scale():
    torch.manual_seed(0)
    network = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(16, 32, 4), "labels": torch.nn.Embedding(10, 500)})
    normal_init(network)
    assert abs(network["conv"].weight.std().item() - 0.02) < 0.002
    assert abs(network["labels"].weight.std().item() - 1.0) < 0.05


def test_initialising_a_normalised_network_is_refused():
    discriminator = spectral_norm_all(ResNetDiscriminator(32, 3, 8))
    with pytest.raises(ValueError, match="before spectral_norm_all"):
        xavier_init(discriminator)
    with pytest.raises(ValueError, match="before spectral_norm_all"):
        normal_init(discriminator)
