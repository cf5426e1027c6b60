import pytest
import torch

from ganbench.errors import ConfigError
from ganbench_plugins.diffaugment import DiffAugment, color, cutout, translation


def images(channels: int, n: int = 6, size: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, channels, size, size) * 2 - 1


@pytest.mark.parametrize("channels", [1, 3])
def test_gradients_flow_to_the_input(channels):
    x = images(channels).requires_grad_(True)
    DiffAugment().augment(x).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("channels", [1, 3])
def test_deterministic_under_a_fixed_seed(channels):
    x = images(channels)
    torch.manual_seed(3)
    first = DiffAugment().augment(x)
    torch.manual_seed(3)
    assert torch.equal(first, DiffAugment().augment(x))
    assert not torch.equal(first, DiffAugment().augment(x))  # a fresh draw otherwise


@pytest.mark.parametrize("channels", [1, 3])
def test_color_keeps_shape_and_dtype(channels):
    for dtype in (torch.float32, torch.float64):
        x = images(channels).to(dtype)
        out = color(x)
        assert out.shape == x.shape and out.dtype == dtype and not torch.equal(out, x)


def test_translation_shifts_by_at_most_an_eighth_and_fills_with_zero():
    x = torch.arange(1.0, 257.0).view(1, 1, 16, 16).repeat(32, 3, 1, 1)
    torch.manual_seed(0)
    out = translation(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    for image in out:
        # the top-left pixel that kept a value says the shift; at most 16/8 = 2 pixels each way
        rows, cols = (image[0] != 0).nonzero(as_tuple=True)
        dy, dx = int(rows.min()), int(cols.min())
        source = image[0, dy, dx] - 1
        sy, sx = int(source // 16), int(source % 16)
        shift_y, shift_x = dy - sy, dx - sx
        assert abs(shift_y) <= 2 and abs(shift_x) <= 2
        expected = torch.zeros(16, 16)
        expected[max(shift_y, 0) : 16 + min(shift_y, 0), max(shift_x, 0) : 16 + min(shift_x, 0)] = x[0, 0][
            max(-shift_y, 0) : 16 + min(-shift_y, 0), max(-shift_x, 0) : 16 + min(-shift_x, 0)
        ]
        assert torch.equal(image, expected.expand(3, 16, 16))


def test_cutout_zeroes_one_square_of_half_the_size_in_every_channel():
    x = torch.ones(64, 3, 16, 16)
    torch.manual_seed(0)
    out = cutout(x)
    zeroed = out == 0
    assert torch.equal(zeroed, zeroed[:, :1].expand_as(zeroed))  # same square in every channel
    for mask in zeroed[:, 0]:
        rows, cols = mask.any(1).nonzero().squeeze(1), mask.any(0).nonzero().squeeze(1)
        assert mask.sum() == len(rows) * len(cols)  # a rectangle
        assert 4 <= len(rows) <= 8 and 4 <= len(cols) <= 8  # 8x8, clipped at most to 4 at an edge
    assert (zeroed[:, 0].sum((1, 2)) == 64).any()  # some squares lie wholly inside


def test_policy_selects_augmentations_and_unknown_names_are_refused():
    x = images(3)
    assert torch.equal(DiffAugment(policy="").augment(x), x)
    torch.manual_seed(1)
    only_cutout = DiffAugment(policy="cutout").augment(x)
    torch.manual_seed(1)
    assert torch.equal(only_cutout, cutout(x))
    with pytest.raises(ConfigError, match="rotation"):
        DiffAugment(policy="color,rotation")
