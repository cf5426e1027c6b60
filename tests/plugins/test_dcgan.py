"""DCGAN and cDCGAN."""

from __future__ import annotations

import pytest
import torch

from ganbench import ModelRequest
from ganbench.errors import ConfigError
from ganbench_plugins import dcgan
from ganbench_plugins.dcgan import Discriminator, build_cdcgan, build_dcgan
from tests.support.models import (
    check_generate_and_discriminate,
    check_spec,
    check_spectral_norms,
    check_training,
    count,
    is_normalised,
    tiny_request,
)

SPECS = {spec.name: spec for spec in dcgan.ganbench_models()}


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
    check_training(SPECS[name], tiny_request(SPECS[name], resolution))


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


@pytest.mark.parametrize("name", ["dcgan", "cdcgan"])
def test_spectral_norm_option_normalises_every_discriminator_layer_and_keeps_the_parameters(name):
    spec = SPECS[name]
    plain = spec.build(tiny_request(spec, 32))
    normalised = check_training(spec, tiny_request(spec, 32, spectral_norm=True), steps=3)
    assert count(normalised.discriminator) == count(plain.discriminator)  # the parametrization keeps the weight
    # DCGAN's D at 32 px: 3 stride-2 convs and the 4x4 output conv (cdcgan's label map is an embedding: one more)
    check_spectral_norms(normalised.discriminator, expected_layers=4 + spec.conditional)
    assert not any(is_normalised(layer) for layer in normalised.generator.modules())


def test_weight_clipping_is_refused_on_a_spectrally_normalised_critic():
    from ganbench.config import resolve_config
    from ganbench.registry import default_registry

    with pytest.raises(ConfigError, match="clip cannot train wgan as configured: .*spectral_norm=false"):
        resolve_config(default_registry(), {}, {"model": "wgan", "model_options": {"spectral_norm": True}})


# conditioning=batchnorm: G's convs are DCGAN's (the latent alone in), each of its batch norms has a gain and a
# bias per class instead of one per channel: 10 classes at 32 px, width 64 add 2*(10 - 1)*(256 + 128 + 64).
def test_batchnorm_conditioning_has_a_gain_and_bias_per_class_in_place_of_each_batch_norm_affine():
    plain = build_dcgan(ModelRequest(32, 3, 0, 100, {"width": 64}))
    conditional = build_cdcgan(ModelRequest(32, 3, 10, 100, {"width": 64, "conditioning": "batchnorm"}))
    assert count(conditional.generator) - count(plain.generator) == 2 * (10 - 1) * (256 + 128 + 64)
    assert not any(isinstance(m, torch.nn.Embedding) for m in conditional.generator.modules())
    # D is cDCGAN's whichever way G is conditioned
    concat = build_cdcgan(ModelRequest(32, 3, 10, 100, {"width": 64}))
    assert count(conditional.discriminator) == count(concat.discriminator)


@pytest.mark.parametrize("resolution", [32, 64])
def test_batchnorm_conditioning_generates_and_trains(resolution):
    spec = SPECS["cdcgan"]
    check_generate_and_discriminate(spec.build(tiny_request(spec, resolution, conditioning="batchnorm")), resolution, 3)
    check_training(spec, tiny_request(spec, resolution, conditioning="batchnorm"))


def first_norm_spread(model, norm: torch.nn.Module, labels: torch.Tensor) -> float:
    """Mean standard deviation, across latents, of the output of G's first batch norm ``norm`` over the
    images of class 0 in a training batch of ``labels``."""
    outputs = []
    handle = norm.register_forward_hook(lambda module, args, output: outputs.append(output))
    model.generator.train()  # batch statistics, as in training
    with torch.no_grad():
        model.generate(torch.randn(len(labels), model.z_dim, generator=torch.Generator().manual_seed(0)), labels)
    handle.remove()
    return outputs[0][labels == 0].std(dim=0).mean().item()


def test_a_grown_label_embedding_squeezes_the_latent_out_of_a_concat_generator_but_not_out_of_batchnorm():
    """Why conditioning=batchnorm exists. G's first batch norm divides by the batch's variance, latent and label
    together, so as training grows the label's embedding, the latent's share of each feature shrinks (on shapes,
    cDCGAN drew one image per class within a few hundred steps). With the latent alone as input, the first batch
    norm's statistics do not depend on the labels, and growing the class tables leaves the latent's share."""
    labels = torch.arange(64) % 8
    concat = build_cdcgan(ModelRequest(32, 3, 8, 16, {"width": 8}))
    before = first_norm_spread(concat, concat.generator.net[1], labels)
    with torch.no_grad():
        concat.generator.label_embedding.weight.mul_(30)
    assert first_norm_spread(concat, concat.generator.net[1], labels) < 0.1 * before

    classnorm = build_cdcgan(ModelRequest(32, 3, 8, 16, {"width": 8, "conditioning": "batchnorm"}))
    first = classnorm.generator.norms[0]
    before = first_norm_spread(classnorm, first, labels)
    with torch.no_grad():
        first.bias.copy_(30 * torch.randn_like(first.bias))
    assert first_norm_spread(classnorm, first, labels) == pytest.approx(before, rel=1e-5)
    assert before > 0.5  # unit-variance features, less what the ReLU-free norm output loses to 8 samples


def test_an_unknown_conditioning_is_a_config_error():
    with pytest.raises(ConfigError, match="model_options.conditioning = 'film' is invalid: use concat .* or batchnorm"):
        build_cdcgan(ModelRequest(32, 3, 4, 8, {"width": 4, "conditioning": "film"}))
