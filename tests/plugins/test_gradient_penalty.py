import pytest
import torch
from torch import nn

from ganbench import ModelRequest, Objective
from ganbench.errors import ConfigError
from ganbench.training.checkpoint import load_checkpoint
from ganbench_plugins.dcgan import build_dcgan
from ganbench_plugins.gradient_penalty import GradientPenalty, R1Penalty
from ganbench_plugins.losses import WassersteinLoss
from tests.support.regularizers import train_dcgan_with

W = torch.tensor([1.0, -2.0, 2.0, 0.5])  # ||W|| = 3.0414...


def linear_critic(x: torch.Tensor, w: torch.Tensor = W) -> torch.Tensor:
    return x.flatten(1) @ w + 0.3


class TanhCritic(nn.Module):
    """D(x) = a . tanh(M x + b): grad D(x) = M^T (a * (1 - tanh^2(M x + b)))."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.hidden = nn.Linear(4, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x.flatten(1)))).squeeze(1)

    def manual_gradient(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            slope = 1 - torch.tanh(self.hidden(x.flatten(1))).square()  # (N, 3)
            return (slope * self.out.weight) @ self.hidden.weight  # (N, 4)


def batches(n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(n, 1, 2, 2), torch.randn(n, 1, 2, 2)


def test_gp_of_a_linear_critic_is_independent_of_the_interpolation():
    real, fake = batches()
    for weight, target in ((10.0, 1.0), (2.0, 3.0)):
        penalty = GradientPenalty(weight, target).penalty(linear_critic, real, fake)
        assert torch.allclose(penalty, weight * (W.norm() - target) ** 2)


def test_gp_of_a_nonlinear_critic_matches_the_manual_derivative_at_the_same_interpolates():
    real, fake = batches()
    critic = TanhCritic()
    torch.manual_seed(7)
    penalty = GradientPenalty(weight=10.0).penalty(critic, real, fake)
    torch.manual_seed(7)
    eps = torch.rand(5, 1, 1, 1)  # the same per-sample draw the penalty made
    norms = critic.manual_gradient(eps * real + (1 - eps) * fake).norm(dim=1)
    assert torch.allclose(penalty, 10.0 * ((norms - 1) ** 2).mean())


def test_gp_is_differentiable_with_respect_to_the_critic():
    w = W.clone().requires_grad_(True)
    real, fake = batches()
    GradientPenalty(weight=10.0).penalty(lambda x: linear_critic(x, w), real, fake).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 20 * (W.norm() - 1) * W / W.norm())


def test_r1_by_hand():
    real, fake = batches()
    assert torch.allclose(R1Penalty(weight=10.0).penalty(linear_critic, real, fake), 5.0 * W.norm() ** 2)
    # D(x) = 1.5 ||x||^2 / 2 has gradient 1.5 x; fake is never looked at
    penalty = R1Penalty(weight=4.0).penalty(lambda x: 0.75 * x.flatten(1).square().sum(1), real, fake * torch.nan)
    assert torch.allclose(penalty, 2.0 * (1.5**2) * real.flatten(1).square().sum(1).mean())
    critic = TanhCritic()
    expected = 5.0 * critic.manual_gradient(real).square().sum(1).mean()
    assert torch.allclose(R1Penalty(weight=10.0).penalty(critic, real, fake), expected)
    assert not real.requires_grad  # the penalty differentiates a detached copy


def test_r1_is_differentiable_with_respect_to_the_critic():
    w = W.clone().requires_grad_(True)
    real, fake = batches()
    R1Penalty(weight=10.0).penalty(lambda x: linear_critic(x, w), real, fake).backward()
    assert torch.allclose(w.grad, 10.0 * W)  # d/dw 5 ||w||^2


def test_negative_weight_is_refused():
    with pytest.raises(ConfigError, match="gp.weight"):
        GradientPenalty(weight=-1.0)
    with pytest.raises(ConfigError, match="r1.weight"):
        R1Penalty(weight=-1.0)


@pytest.mark.parametrize("regularizer", [GradientPenalty(), R1Penalty()])
def test_penalties_train_a_dcgan_critic(regularizer):
    torch.manual_seed(0)
    model = build_dcgan(ModelRequest(32, 1, 0, 8, {"width": 4, "norm": "none"}))
    objective = Objective(WassersteinLoss(), [regularizer])
    real = torch.rand(4, 1, 32, 32) * 2 - 1
    with_penalty = model.discriminator_loss(real, None, objective)
    with_penalty.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.discriminator.parameters())
    assert all(p.grad is None for p in model.generator.parameters())


def test_gradient_penalty_refuses_a_batch_norm_critic():
    from ganbench.config import resolve_config
    from ganbench.errors import ConfigError
    from ganbench.registry import default_registry

    with pytest.raises(ConfigError, match="gp cannot train dcgan as configured: .*batch norm.*norm=layer"):
        resolve_config(default_registry(), {}, {"model": "dcgan", "reg": ["gp"]})
    config = resolve_config(
        default_registry(), {}, {"model": "dcgan", "reg": ["gp"], "model_options": {"norm": "layer"}}
    )
    assert config.config.reg == ["gp"]


def test_lazy_r1_applies_every_n_steps_with_the_weight_scaled_by_n():
    real, fake = batches()
    every_step = 5.0 * W.norm() ** 2
    plain, lazy = R1Penalty(weight=10.0), R1Penalty(weight=10.0, interval=3)
    for step in range(7):
        assert torch.allclose(plain.penalty(linear_critic, real, fake), every_step)  # interval 1: as before
        penalty = lazy.penalty(linear_critic, real, fake)
        if step % 3 == 0:
            assert torch.allclose(penalty, 3 * every_step)
        else:
            assert penalty is None


def test_lazy_r1_refuses_an_interval_below_one():
    with pytest.raises(ConfigError, match="r1.interval = 0 is invalid: it must be >= 1"):
        R1Penalty(interval=0)


def test_lazy_r1_trains_dcgan(registry, console, fast_flags):
    outcome, metrics = train_dcgan_with(registry, console, fast_flags, ["r1"], {"r1.interval": 4})
    assert "loss_d" in metrics
    assert load_checkpoint(outcome.checkpoint)["regularizers"] == [{"calls": 6}]  # 3 steps of 2 D steps
