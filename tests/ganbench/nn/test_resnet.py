import pytest
import torch

from ganbench.nn import (
    ConditionalBatchNorm2d,
    DownBlock,
    ResNetDiscriminator,
    ResNetGenerator,
    SelfAttention,
    UpBlock,
    attention_resolutions,
)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_up_block_doubles_the_map():
    block = UpBlock(8, 4)
    assert block(torch.randn(2, 8, 5, 5)).shape == (2, 4, 10, 10)
    # BN(8) + conv3x3 8->4 + BN(4) + conv3x3 4->4 + 1x1 shortcut 8->4, convs with bias
    assert count(block) == 2 * 8 + (8 * 4 * 9 + 4) + 2 * 4 + (4 * 4 * 9 + 4) + (8 * 4 + 4)


def test_conditional_up_block_uses_the_labels():
    block = UpBlock(8, 8, num_classes=3)
    assert isinstance(block.norm1, ConditionalBatchNorm2d) and isinstance(block.norm2, ConditionalBatchNorm2d)
    with torch.no_grad():
        block.norm1.bias.normal_()
    x = torch.randn(1, 8, 4, 4).repeat(2, 1, 1, 1)
    out = block.eval()(x, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


def test_down_block_halves_the_map_and_keeps_an_identity_shortcut_when_it_can():
    down = DownBlock(4, 8)
    assert down(torch.randn(2, 4, 8, 8)).shape == (2, 8, 4, 4)
    assert down.shortcut is not None
    plain = DownBlock(8, 8, downsample=False)
    assert plain.shortcut is None  # same shape: the identity
    assert plain(torch.randn(2, 8, 4, 4)).shape == (2, 8, 4, 4)
    assert DownBlock(4, 8, downsample=False).shortcut is not None  # the channels change


def test_the_optimized_block_does_not_rectify_the_image():
    torch.manual_seed(0)
    optimized, plain = DownBlock(3, 8, optimized=True), DownBlock(3, 8)
    plain.load_state_dict(optimized.state_dict())
    negative = -torch.rand(1, 3, 8, 8)
    # a plain block's ReLU zeroes an all-negative input on the residual path; the optimized block sees it
    assert not torch.allclose(optimized(negative), plain(negative))
    with pytest.raises(ValueError, match="always downsamples"):
        DownBlock(3, 8, downsample=False, optimized=True)


def test_attention_resolutions():
    assert attention_resolutions(32) == (8, 16)
    assert attention_resolutions(64) == (8, 16, 32)
    with pytest.raises(ValueError, match="power of 2"):
        attention_resolutions(48)


@pytest.mark.parametrize(("resolution", "attention"), [(32, 8), (32, 16), (64, 8), (64, 16), (64, 32)])
def test_attention_sits_where_the_maps_have_its_size(resolution, attention):
    generator = ResNetGenerator(8, resolution, 3, 16, attention_resolution=attention)
    discriminator = ResNetDiscriminator(resolution, 3, 8, attention_resolution=attention)
    seen = []
    for network in (generator, discriminator):
        block = next(m for m in network.modules() if isinstance(m, SelfAttention))
        block.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].shape[-1]))
    images = generator(torch.randn(2, 8))
    assert images.shape == (2, 3, resolution, resolution)
    assert discriminator(images).shape == (2,)
    assert seen == [attention, attention]


def test_an_attention_resolution_the_maps_do_not_have_is_refused():
    with pytest.raises(ValueError, match="one of 8, 16"):
        ResNetGenerator(8, 32, 3, 16, attention_resolution=32)
    with pytest.raises(ValueError, match="one of 8, 16, 32"):
        ResNetDiscriminator(64, 3, 8, attention_resolution=4)


@pytest.mark.parametrize("resolution", [32, 64])
def test_the_discriminator_pools_an_8x8_map(resolution):
    discriminator = ResNetDiscriminator(resolution, 1, 8)
    sizes = []
    for block in discriminator.blocks:
        block.register_forward_hook(lambda module, inputs, output: sizes.append(output.shape[-1]))
    discriminator(torch.randn(2, 1, resolution, resolution))
    assert sizes == {32: [16, 8, 8, 8], 64: [32, 16, 8, 8, 8]}[resolution]
    assert discriminator.blocks[0].optimized and not any(b.optimized for b in discriminator.blocks[1:])
