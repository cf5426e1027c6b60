import math

import pytest
import torch
import torch.nn.functional as F

from ganbench.errors import ConfigError
from ganbench_plugins.bce import BCELoss


def test_discriminator_loss_is_binary_cross_entropy_on_logits():
    real, fake = torch.randn(16), torch.randn(16)
    expected = F.binary_cross_entropy_with_logits(real, torch.ones(16)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros(16)
    )
    assert torch.allclose(BCELoss().discriminator_loss(real, fake), expected)


def test_generator_loss_non_saturating_and_saturating():
    fake = torch.randn(16)
    non_saturating = F.binary_cross_entropy_with_logits(fake, torch.ones(16))  # -log D(G(z))
    saturating = -F.binary_cross_entropy_with_logits(fake, torch.zeros(16))  # log(1 - D(G(z)))
    assert torch.allclose(BCELoss().generator_loss(fake), non_saturating)
    assert torch.allclose(BCELoss(saturating=True).generator_loss(fake), saturating)


def test_stable_for_extreme_logits():
    logits = torch.tensor([-1e4, 1e4])
    assert torch.isfinite(BCELoss().discriminator_loss(logits, logits))
    assert torch.isfinite(BCELoss().generator_loss(logits))


def test_one_sided_label_smoothing_changes_only_the_real_targets():
    real, fake = torch.randn(16), torch.randn(16)
    smoothed = BCELoss(label_smoothing=0.1)
    expected = F.binary_cross_entropy_with_logits(real, torch.full((16,), 0.9)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros(16)
    )
    assert torch.allclose(smoothed.discriminator_loss(real, fake), expected)
    assert torch.equal(smoothed.generator_loss(fake), BCELoss().generator_loss(fake))
    # by hand, one real logit 0 and one fake logit 0: 0.9*log 2 + 0.1*log 2 + log 2
    zero = torch.zeros(1)
    assert torch.allclose(smoothed.discriminator_loss(zero, zero), torch.tensor(2 * math.log(2)))


def test_label_smoothing_outside_the_unit_interval_is_refused():
    with pytest.raises(ConfigError, match="label_smoothing"):
        BCELoss(label_smoothing=1.0)
