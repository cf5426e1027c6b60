import pytest
import torch

from ganbench import ModelRequest
from ganbench_plugins.bce import BCELoss
from ganbench_plugins.dcgan import build_cdcgan, build_dcgan


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Expected counts, by hand from the architecture (bias-free convs, batch norm affine = 2 per channel):
# 64 px, width 64, z 100, RGB is the PyTorch DCGAN example's network: G 3,576,704 and D 2,765,568.
# 32 px drops one doubling: G = 100*256*16 + 512 + 256*128*16 + 256 + 128*64*16 + 128 + 64*3*16 = 1,068,928;
# D = 3*64*16 + 64*128*16 + 256 + 128*256*16 + 512 + 256*1*16 = 663,296.
@pytest.mark.parametrize(("resolution", "g_params", "d_params"), [(32, 1_068_928, 663_296), (64, 3_576_704, 2_765_568)])
def test_dcgan_shapes_and_parameter_counts(resolution, g_params, d_params):
    model = build_dcgan(ModelRequest(resolution, 3, 0, 100, {"width": 64}))
    assert (_count(model.generator), _count(model.discriminator)) == (g_params, d_params)
    images = model.generate(torch.randn(5, 100))
    assert images.shape == (5, 3, resolution, resolution)
    assert images.abs().max() <= 1  # tanh output
    assert model.discriminate(images).shape == (5,)


def test_cdcgan_adds_exactly_the_label_embeddings():
    plain = build_dcgan(ModelRequest(32, 1, 0, 100, {"width": 64}))
    conditional = build_cdcgan(ModelRequest(32, 1, 10, 100, {"width": 64, "embedding_dim": 50}))
    # G: embedding 10x50 and 50 more input channels in the first layer (50*256*16);
    # D: a 10 x 32*32 label map and one more input channel in the first conv (1*64*16).
    assert _count(conditional.generator) - _count(plain.generator) == 10 * 50 + 50 * 256 * 16
    assert _count(conditional.discriminator) - _count(plain.discriminator) == 10 * 32 * 32 + 64 * 16
    labels = torch.arange(4)
    z = torch.randn(1, 100).repeat(4, 1)
    images = conditional.generate(z, labels)
    assert images.shape == (4, 1, 32, 32)
    assert not torch.allclose(images[0], images[1])  # the label changes the image for the same latent


@pytest.mark.parametrize("build", [build_dcgan, build_cdcgan])
@pytest.mark.parametrize("resolution", [32, 64])
def test_gradients_reach_every_parameter(build, resolution):
    torch.manual_seed(0)
    conditional = build is build_cdcgan
    model = build(ModelRequest(resolution, 3, 4 if conditional else 0, 16, {"width": 8, "embedding_dim": 6}))
    real = torch.rand(6, 3, resolution, resolution) * 2 - 1
    labels = torch.randint(4, (6,)) if conditional else None
    model.discriminator_loss(real, labels, BCELoss()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.discriminator.parameters())
    assert all(p.grad is None for p in model.generator.parameters())  # D's step does not train G
    model.zero_grad(set_to_none=True)
    model.generator_loss(6, labels, BCELoss()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())


def test_with_generator_swaps_only_the_generator():
    model = build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8}))
    other = build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8})).generator
    view = model.with_generator(other)
    assert view.generator is other and view.discriminator is model.discriminator
    assert model.generator is not other  # the original is untouched
    z = torch.randn(2, 16)
    assert torch.equal(view.sample(z), other.eval()(z))
