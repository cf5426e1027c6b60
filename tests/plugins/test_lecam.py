import pytest
import torch

from ganbench.errors import ConfigError
from ganbench_plugins.lecam import LeCam
from tests.support.regularizers import train_dcgan_with

REAL = torch.tensor([1.0, -0.5, 2.0])  # mean 5/6
FAKE = torch.tensor([-1.0, 0.5])  # mean -1/4


def test_penalty_by_hand_on_anchors_updated_first():
    lecam = LeCam(weight=0.5, decay=0.9, start=0)
    penalty = lecam.output_penalty(REAL, FAKE)
    anchor_real, anchor_fake = 0.1 * 5 / 6, 0.1 * -0.25  # one EMA step from 0
    # relu(D(x) - alpha_F)^2 on the reals, relu(alpha_R - D(G(z)))^2 on the fakes
    on_real = ((1.0 + 0.025) ** 2 + 0.0 + (2.0 + 0.025) ** 2) / 3  # -0.5 - (-0.025) < 0: clipped
    on_fake = ((anchor_real + 1.0) ** 2 + 0.0) / 2  # 0.0833 - 0.5 < 0: clipped
    assert (float(lecam.anchor_real), float(lecam.anchor_fake)) == pytest.approx((anchor_real, anchor_fake))
    assert penalty.item() == pytest.approx(0.5 * (on_real + on_fake))


def test_anchors_follow_the_ema_of_the_batch_means():
    lecam = LeCam(decay=0.99, start=0)
    lecam.output_penalty(REAL, FAKE)
    lecam.output_penalty(REAL + 1, FAKE - 1)
    assert float(lecam.anchor_real) == pytest.approx(0.99 * 0.01 * 5 / 6 + 0.01 * (5 / 6 + 1))
    assert float(lecam.anchor_fake) == pytest.approx(0.99 * 0.01 * -0.25 + 0.01 * -1.25)
    assert lecam.logged() == pytest.approx(
        {"lecam_anchor_real": float(lecam.anchor_real), "lecam_anchor_fake": float(lecam.anchor_fake)}
    )


def test_before_start_the_anchors_are_the_batch_means_and_nothing_is_added():
    lecam = LeCam(weight=1.0, decay=0.99, start=2)
    lecam.set_progress(1, 10)
    assert lecam.output_penalty(REAL, FAKE) is None
    assert (float(lecam.anchor_real), float(lecam.anchor_fake)) == pytest.approx((5 / 6, -0.25))
    lecam.set_progress(2, 10)
    assert lecam.output_penalty(REAL, FAKE).item() > 0


def test_the_penalty_is_differentiable_in_the_logits_not_the_anchors():
    real, fake = REAL.clone().requires_grad_(True), FAKE.clone().requires_grad_(True)
    LeCam(weight=1.0, decay=0.0, start=0).output_penalty(real, fake).backward()
    # decay 0: alpha_R = 5/6, alpha_F = -1/4; d/dD(x) of mean(relu(D(x) + 1/4)^2) = 2 relu(D(x) + 1/4) / 3
    assert torch.allclose(real.grad, 2 * torch.relu(REAL + 0.25) / 3)
    assert torch.allclose(fake.grad, -2 * torch.relu(5 / 6 - FAKE) / 2)


@pytest.mark.parametrize(("key", "value"), [("weight", -1.0), ("decay", 1.0), ("start", -1)])
def test_invalid_options_are_refused(key, value):
    with pytest.raises(ConfigError, match=f"lecam.{key} = {value} is invalid"):
        LeCam(**{key: value})


def test_trains_dcgan_and_logs_its_anchors(registry, console, fast_flags):
    _, metrics = train_dcgan_with(registry, console, fast_flags, ["lecam"], {"lecam.start": 0})
    assert {"lecam_anchor_real", "lecam_anchor_fake"} <= set(metrics)
