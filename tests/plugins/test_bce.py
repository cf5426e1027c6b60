import torch
import torch.nn.functional as F

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
