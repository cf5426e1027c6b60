import pytest
import torch

from ganbench.errors import ConfigError
from ganbench_plugins.consistency import ConsistencyRegularization, flip_and_translate, random_flip
from tests.support.regularizers import train_dcgan_with


def centred_blobs(n: int = 8, size: int = 16) -> torch.Tensor:
    """Images zero but for a random 4x4 centre: T shifts it by at most 2 pixels, never out of the image."""
    torch.manual_seed(0)
    images = torch.zeros(n, 1, size, size)
    images[:, :, 6:10, 6:10] = torch.rand(n, 1, 4, 4)
    return images


def total(images: torch.Tensor) -> torch.Tensor:
    return images.flatten(1).sum(1)


def right_weighted(images: torch.Tensor) -> torch.Tensor:
    return (images * torch.arange(images.shape[-1])).flatten(1).sum(1)


def test_no_penalty_for_a_critic_invariant_to_the_augmentation():
    real = centred_blobs()
    assert ConsistencyRegularization(weight=10.0).penalty(total, real, real * torch.nan).item() == 0.0


def test_a_critic_that_sees_position_is_penalised_in_proportion_to_the_weight():
    real = centred_blobs()
    torch.manual_seed(1)
    penalty = ConsistencyRegularization(weight=10.0).penalty(right_weighted, real, real)
    torch.manual_seed(1)
    expected = 10.0 * (right_weighted(real) - right_weighted(flip_and_translate(real))).square().mean()
    assert penalty.item() > 0 and torch.allclose(penalty, expected)


def test_the_augmentation_flips_about_half_and_keeps_the_blob():
    torch.manual_seed(0)
    images = torch.arange(16.0).view(1, 1, 1, 16).expand(400, 1, 1, 16)
    flipped = (random_flip(images)[:, 0, 0, 0] == 15).float().mean()
    assert 0.4 < flipped < 0.6
    real = centred_blobs()
    assert torch.allclose(total(flip_and_translate(real)), total(real))


def test_the_penalty_trains_the_critic():
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 1))
    ConsistencyRegularization().penalty(lambda x: critic(x).view(-1), centred_blobs(), centred_blobs()).backward()
    assert critic[1].weight.grad.abs().sum() > 0  # (the bias cancels in D(x) - D(T(x)))


def test_a_negative_weight_is_refused():
    with pytest.raises(ConfigError, match="cr.weight = -1.0 is invalid: it must be >= 0"):
        ConsistencyRegularization(weight=-1.0)


def test_trains_dcgan(registry, console, fast_flags):
    _, metrics = train_dcgan_with(registry, console, fast_flags, ["cr"], {"cr.weight": 10.0})
    assert "loss_d" in metrics
