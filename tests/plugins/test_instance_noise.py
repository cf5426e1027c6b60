import pytest
import torch

from ganbench import Objective
from ganbench.errors import ConfigError
from ganbench_plugins.instance_noise import InstanceNoise
from ganbench_plugins.losses import WassersteinLoss


@pytest.mark.parametrize(("step", "sigma"), [(0, 0.2), (250, 0.15), (500, 0.1), (999, 0.2 / 1000), (1000, 0.0)])
def test_noise_std_follows_the_linear_schedule(step, sigma):
    noise = InstanceNoise(sigma=0.2)
    Objective(WassersteinLoss(), [noise]).set_progress(step, 1000)  # as the engine tells it
    assert noise.sigma == pytest.approx(sigma)
    torch.manual_seed(0)
    x = torch.full((64, 3, 16, 16), 0.5)
    added = noise.augment(x) - x
    assert added.std().item() == pytest.approx(sigma, rel=0.05, abs=1e-7)
    assert added.mean().abs().item() < 0.05 * sigma + 1e-7


def test_noise_is_differentiable_and_fresh_per_call():
    noise = InstanceNoise(sigma=0.1)
    x = torch.zeros(8, 1, 4, 4, requires_grad=True)
    noise.augment(x).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert not torch.equal(noise.augment(x), noise.augment(x))


def test_negative_sigma_is_refused():
    with pytest.raises(ConfigError, match="sigma"):
        InstanceNoise(sigma=-0.1)
