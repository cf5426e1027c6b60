"""The average of G with StyleGAN2's ramp-up (``ema_rampup``)."""

import pytest
import torch
from torch import nn

from ganbench.config import RunConfig, validate_fields
from ganbench.errors import ConfigError
from ganbench.training.loop import averaged_generator, ramped_decay

DECAY = 0.5 ** (1 / 100)  # a half-life of 100 steps


@pytest.mark.parametrize(("steps", "half_life"), [(1, 0.05), (100, 5.0), (2000, 100.0), (10_000, 100.0)])
def test_the_half_life_grows_with_the_steps_until_the_decays(steps, half_life):
    # stylegan2-ada's training_loop: beta = 0.5 ** (batch / min(ema_kimg * 1000, cur_nimg * ema_rampup))
    assert ramped_decay(DECAY, 0.05, steps) == pytest.approx(0.5 ** (1 / half_life))


def test_the_average_follows_the_ramped_decays():
    generator = nn.Linear(1, 1, bias=False)
    average = averaged_generator(generator, DECAY, rampup=0.5)
    # the first update copies G; the n-th after it has a half-life of 0.5 n steps: decays 0.25, 0.5, 0.5^(2/3)
    expected = [1.0, 2 - 0.25, 3 - 1.25 * 0.5, 4 - 1.625 * 0.5 ** (2 / 3)]
    for value, average_value in zip([1.0, 2.0, 3.0, 4.0], expected, strict=True):
        with torch.no_grad():
            generator.weight.fill_(value)
        average.update_parameters(generator)
        assert average.module.weight.item() == pytest.approx(average_value)


def test_without_rampup_the_decay_is_fixed():
    generator = nn.Linear(1, 1, bias=False)
    average = averaged_generator(generator, 0.9)
    for value in (1.0, 2.0):
        with torch.no_grad():
            generator.weight.fill_(value)
        average.update_parameters(generator)
    assert average.module.weight.item() == pytest.approx(0.9 * 1 + 0.1 * 2)


def test_a_rampup_without_an_average_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="ema_rampup = 0.05 is invalid without an average: pass --ema-decay"):
        validate_fields(RunConfig(ema_rampup=0.05))
    with pytest.raises(ConfigError, match="ema_rampup = -1.0 is invalid: it must be 0 or greater"):
        validate_fields(RunConfig(ema_decay=0.9, ema_rampup=-1.0))
