import pytest
import torch
import torch.nn.functional as F

from ganbench import ModelRequest, Objective
from ganbench.errors import ConfigError
from ganbench_plugins import acgan
from ganbench_plugins.bce import BCELoss
from tests.support.models import (
    check_generate_and_discriminate,
    check_spec,
    check_training,
    count,
    one_thread,
    tiny_request,
)

SPEC = acgan.ganbench_models()[0]


# By hand, 64 channels wide, z 100, label embedding 50, 10 classes, RGB.
# G is cDCGAN's: the 10x50 embedding, and a first layer that takes 150 channels:
#   32 px: 150*256*16 + 2*256 + 256*128*16 + 2*128 + 128*64*16 + 2*64 + 64*3*16 + 10*50 = 1,274,228
#   64 px: 150*512*16 + 2*512 + 512*256*16 + 2*256 + 256*128*16 + 2*128 + 128*64*16 + 2*64 + 64*3*16
#          + 10*50 = 3,986,804
# D is DCGAN's trunk (bias-free convs, batch norm on all but the first), a bias-free 4x4 real/fake head
# and a 4x4 class head with a bias per class:
#   32 px: 3*64*16 + 64*128*16 + 2*128 + 128*256*16 + 2*256 + 256*1*16 + (256*10*16 + 10) = 704,266
#   64 px: 3*64*16 + 64*128*16 + 2*128 + 128*256*16 + 2*256 + 256*512*16 + 2*512 + 512*1*16
#          + (512*10*16 + 10) = 2,847,498
@pytest.mark.parametrize(("resolution", "g_params", "d_params"), [(32, 1_274_228, 704_266), (64, 3_986_804, 2_847_498)])
def test_parameter_counts(resolution, g_params, d_params):
    model = SPEC.build(ModelRequest(resolution, 3, 10, 100, SPEC.options))
    assert (count(model.generator), count(model.discriminator)) == (g_params, d_params)


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_heads(resolution, channels):
    model = SPEC.build(tiny_request(SPEC, resolution, channels))
    check_generate_and_discriminate(model, resolution, channels)
    images = torch.rand(5, channels, resolution, resolution) * 2 - 1
    with one_thread():
        logits, class_logits = model.discriminator.heads(images)
        assert logits.shape == (5,) and class_logits.shape == (5, 3)
        assert torch.equal(model.discriminate(images, torch.arange(5) % 3), logits)  # what the engine sees


def _batch(resolution: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.rand(6, 3, resolution, resolution, generator=generator) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2])


def test_losses_add_the_class_cross_entropy_of_real_and_generated_images():
    model = SPEC.build(tiny_request(SPEC, 32, class_weight=2.0))
    real, labels = _batch()
    with one_thread():
        torch.manual_seed(3)
        d_loss = model.discriminator_loss(real, labels, Objective(BCELoss()))
        torch.manual_seed(3)  # the same latents again: the same generated images
        fake = model.generate(model.sample_latent(6), labels)
        (real_logits, real_classes), (fake_logits, fake_classes) = map(model.discriminator.heads, (real, fake))
        expected = BCELoss().discriminator_loss(real_logits, fake_logits)
        expected = expected + 2.0 * (F.cross_entropy(real_classes, labels) + F.cross_entropy(fake_classes, labels))
        assert torch.allclose(d_loss, expected)

        torch.manual_seed(4)
        g_loss = model.generator_loss(6, labels, Objective(BCELoss()))
        torch.manual_seed(4)
        fake_logits, fake_classes = model.discriminator.heads(model.generate(model.sample_latent(6), labels))
        expected = BCELoss().generator_loss(fake_logits) + 2.0 * F.cross_entropy(fake_classes, labels)
        assert torch.allclose(g_loss, expected)


@pytest.mark.parametrize("class_weight", [1.0, 0.0])
def test_the_discriminator_loss_sees_which_real_image_has_which_label(class_weight):
    model = SPEC.build(tiny_request(SPEC, 32, class_weight=class_weight))
    real, labels = _batch()
    shuffled = real[torch.tensor([1, 2, 0, 4, 5, 3])]  # every real image now carries another class's label
    losses = []
    with one_thread():
        for images in (real, shuffled):
            torch.manual_seed(5)  # the same generated images in both
            losses.append(model.discriminator_loss(images, labels, Objective(BCELoss())))
    # the adversarial loss is a mean over the batch: only the class loss on real images can tell
    assert torch.allclose(losses[0], losses[1]) == (class_weight == 0.0)


def test_gradients_reach_both_heads():
    model = SPEC.build(tiny_request(SPEC, 32))
    real, labels = _batch()
    head = model.discriminator
    with one_thread():
        model.discriminator_loss(real, labels, Objective(BCELoss())).backward()
        assert head.adversarial.weight.grad.abs().sum() > 0 and head.classifier.weight.grad.abs().sum() > 0
        assert head.classifier.bias.grad.abs().sum() > 0
        assert all(p.grad is None for p in model.generator.parameters())
        model.zero_grad(set_to_none=True)
        model.generator_loss(6, labels, Objective(BCELoss())).backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())


@pytest.mark.parametrize("resolution", [32, 64])
def test_training_steps(resolution):
    check_training(SPEC, tiny_request(SPEC, resolution))


def test_a_negative_class_weight_is_a_config_error():
    with pytest.raises(ConfigError, match="class_weight = -1.0 is invalid"):
        SPEC.build(tiny_request(SPEC, 32, class_weight=-1.0))


def test_spec():
    check_spec(SPEC)
    assert SPEC.conditional and SPEC.options["class_weight"] == 1.0
    assert SPEC.defaults["loss"] == "bce"  # the adversarial loss is the objective's; the class loss is AC-GAN's own
