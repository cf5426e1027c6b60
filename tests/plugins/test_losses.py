import torch

from ganbench_plugins.losses import HingeLoss, LeastSquaresLoss, WassersteinLoss, build_lsgan

REAL = torch.tensor([2.0, -0.5, 0.5])
FAKE = torch.tensor([-2.0, 0.0, 3.0])


def test_wasserstein_by_hand():
    # mean(real) = 2/3, mean(fake) = 1/3
    assert torch.allclose(WassersteinLoss().discriminator_loss(REAL, FAKE), torch.tensor(1 / 3 - 2 / 3))
    assert torch.allclose(WassersteinLoss().generator_loss(FAKE), torch.tensor(-1 / 3))


def test_hinge_by_hand():
    # relu(1 - real) = [0, 1.5, 0.5] -> 2/3; relu(1 + fake) = [0, 1, 4] -> 5/3
    assert torch.allclose(HingeLoss().discriminator_loss(REAL, FAKE), torch.tensor(2 / 3 + 5 / 3))
    assert torch.allclose(HingeLoss().generator_loss(FAKE), torch.tensor(-1 / 3))


def test_lsgan_by_hand_with_the_paper_defaults():
    loss = build_lsgan({"a": 0.0, "b": 1.0, "c": 1.0})
    # (real - 1)^2 = [1, 2.25, 0.25] -> mean 7/6; (fake - 0)^2 = [4, 0, 9] -> mean 13/3; halves
    assert torch.allclose(loss.discriminator_loss(REAL, FAKE), torch.tensor(0.5 * 7 / 6 + 0.5 * 13 / 3))
    # (fake - 1)^2 = [9, 1, 4] -> mean 14/3
    assert torch.allclose(loss.generator_loss(FAKE), torch.tensor(0.5 * 14 / 3))


def test_lsgan_targets_are_options():
    loss = LeastSquaresLoss(a=-1.0, b=1.0, c=0.0)  # the paper's first setting
    # (fake + 1)^2 = [1, 1, 16] -> mean 6; (fake - 0)^2 -> mean 13/3
    assert torch.allclose(loss.discriminator_loss(REAL, FAKE), torch.tensor(0.5 * 7 / 6 + 0.5 * 6))
    assert torch.allclose(loss.generator_loss(FAKE), torch.tensor(0.5 * 13 / 3))
    assert torch.allclose(
        build_lsgan({"b": 2}).discriminator_loss(torch.tensor([2.0]), torch.tensor([0.0])), torch.tensor(0.0)
    )


def test_losses_are_registered(registry):
    for name in ("bce", "wasserstein", "hinge", "lsgan"):
        spec = registry.get("loss", name)
        loss = spec.build(dict(spec.options))
        assert torch.isfinite(loss.discriminator_loss(REAL, FAKE)) and torch.isfinite(loss.generator_loss(FAKE))
