import math

import pytest
import torch

from ganbench.config import resolve_config
from ganbench.errors import ConfigError
from ganbench.registry import default_registry
from ganbench.training.checkpoint import load_checkpoint
from ganbench_plugins.ada import AdaptiveAugmentation, _rotate, _scale, _translate, augment, resample
from tests.support.regularizers import train_dcgan_with

BATCH = 16


def logits(positive: int) -> torch.Tensor:
    """D's outputs on a real batch, ``positive`` of them > 0."""
    return torch.tensor([1.0] * positive + [-1.0] * (BATCH - positive))


def steered() -> AdaptiveAugmentation:
    # 4 steps of 16 images per adjustment; kimg 0.256: p moves by 64 / 256 = 0.25 each time
    return AdaptiveAugmentation(target=0.6, interval=4, kimg=0.256)


def feed(ada: AdaptiveAugmentation, positive: int, steps: int) -> list[float]:
    """p after each of ``steps`` discriminator steps on batches with ``positive`` positive logits."""
    history = []
    for _ in range(steps):
        assert ada.output_penalty(logits(positive), -logits(positive)) is None
        history.append(ada.p)
    return history


def test_p_rises_while_d_overfits_and_falls_otherwise_within_0_and_1():
    ada = steered()
    # 15 of 16 positive: r_t = 14/16 > 0.6; p moves only every 4th step
    assert feed(ada, positive=15, steps=20) == [0, 0, 0, 0.25] + [0.25] * 3 + [0.5] * 4 + [0.75] * 4 + [1.0] * 5
    assert ada.logged() == {"ada_p": 1.0, "ada_rt": 14 / 16}
    # 12 of 16 positive: r_t = 0.5 < 0.6
    assert feed(ada, positive=12, steps=24)[3::4] == [0.75, 0.5, 0.25, 0.0, 0.0, 0.0]


def test_r_t_is_summed_over_the_processes():
    ada = AdaptiveAugmentation(interval=1, kimg=0.256, sum_over_processes=lambda stats: stats * 2)
    ada.output_penalty(logits(15), logits(15))
    assert ada.rt == 14 / 16 and ada.p == 32 / 256  # two processes' images


def test_identity_at_p_0_and_differentiable_at_any_p():
    images = torch.randn(8, 3, 16, 16, requires_grad=True)
    assert augment(images, 0.0) is images
    torch.manual_seed(0)
    augmented = augment(images, 0.7)
    assert augmented.shape == images.shape and not torch.allclose(augmented, images)
    (augmented * torch.randn_like(augmented)).sum().backward()
    assert images.grad is not None and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
    assert steered().augment(images) is images  # p starts at 0


def test_at_p_1_every_image_changes_and_at_a_small_p_most_stay_exact():
    torch.manual_seed(0)
    images = torch.randn(64, 1, 8, 8)
    assert not (augment(images, 1.0) == images).flatten(1).all(1).any()
    kept = (augment(images, 0.05) == images).flatten(1).all(1).float().mean()
    assert kept > 0.5  # about 0.95^9 of them draw no augmentation at all


def test_blits_resample_exactly():
    image = torch.arange(16.0).view(1, 1, 4, 4)
    one = torch.ones(1)
    assert torch.equal(resample(image, _scale(-one, one)), image.flip(3))
    quarter = resample(image, _rotate(math.pi / 2 * one))
    assert torch.allclose(quarter, torch.rot90(image, 1, dims=(2, 3)), atol=1e-5) or torch.allclose(
        quarter, torch.rot90(image, -1, dims=(2, 3)), atol=1e-5
    )
    shifted = resample(image, _translate(2 / 4 * one, 0 * one))  # read one pixel to the right
    assert torch.allclose(shifted[..., :3], image[..., 1:], atol=1e-5)
    assert torch.allclose(shifted[..., 3], image[..., 3], atol=1e-5)  # reflected at the edge


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": 1.0}, "ada.target = 1.0 is invalid: it must be in \\[0, 1\\)"),
        ({"interval": 0}, "ada.interval = 0 is invalid: it must be >= 1"),
        ({"kimg": 0.0}, "ada.kimg = 0.0 is invalid: it must be > 0"),
        ({"p": 1.5}, "ada.p = 1.5 is invalid: it must be in \\[0, 1\\]"),
    ],
)
def test_invalid_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        AdaptiveAugmentation(**options)


def test_ada_with_diffaugment_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="ada and diffaugment both augment every image D sees.*drop diffaugment"):
        resolve_config(default_registry(), {}, {"model": "dcgan", "reg": ["ada", "diffaugment"]})
    assert resolve_config(default_registry(), {}, {"model": "dcgan", "reg": ["ada", "r1"]}).config.reg == ["ada", "r1"]


def test_a_search_adds_no_second_augmentation(registry):
    from ganbench.tuning.space import build_space

    config = resolve_config(registry, {}, {"model": "dcgan", "reg": ["ada"]}).config
    assert "augment" not in build_space(config, registry, {}).distributions
    plain = resolve_config(registry, {}, {"model": "dcgan"}).config
    assert {"ada", "diffaugment"} <= set(build_space(plain, registry, {}).distributions["augment"].choices)


def test_trains_dcgan_and_logs_p(registry, console, fast_flags):
    # kimg 0.016: every D step (16 images) moves p by 1, so that it ends at a bound whichever way D goes
    options = {"ada.p": 0.5, "ada.interval": 1, "ada.kimg": 0.016}
    outcome, metrics = train_dcgan_with(registry, console, fast_flags, ["ada"], options)
    assert metrics["ada_p"] in (0.0, 1.0) and -1 <= metrics["ada_rt"] <= 1
    (saved,) = load_checkpoint(outcome.checkpoint)["regularizers"]
    assert (saved["p"], saved["steps"]) == (metrics["ada_p"], 6)  # resumes where it stopped


def test_a_restored_state_continues_as_the_original():
    original, restored = steered(), steered()
    feed(original, positive=15, steps=6)  # one adjustment, two steps into the next interval
    restored.load_state_dict(original.state_dict())
    assert feed(restored, positive=15, steps=2) == feed(original, positive=15, steps=2) == [0.25, 0.5]
