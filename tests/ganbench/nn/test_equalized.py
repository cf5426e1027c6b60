import math

import torch
import torch.nn.functional as F

from ganbench.nn import EqualizedConv2d, EqualizedLinear, normalize_2nd_moment, scaled_leaky_relu


def test_weights_are_stored_at_unit_scale_and_scaled_at_run_time():
    torch.manual_seed(0)
    layer = EqualizedLinear(400, 300, bias_init=0.5, lr_multiplier=0.01)
    assert abs(layer.weight.std().item() * 0.01 - 1) < 0.01  # N(0, 1) / lr_multiplier
    x = torch.randn(8, 400)
    expected = x @ (layer.weight * 0.01 / math.sqrt(400)).t() + 0.5 * 0.01
    torch.testing.assert_close(layer(x), expected)
    assert abs(layer(torch.randn(4000, 400)).std().item() - 1) < 0.05  # unit variance in, unit variance out


def test_the_activation_is_leaky_relu_with_gain_sqrt_2():
    x = torch.tensor([-1.0, 2.0])
    torch.testing.assert_close(scaled_leaky_relu(x), torch.tensor([-0.2, 2.0]) * math.sqrt(2))


def test_normalize_2nd_moment_gives_rows_of_unit_mean_square():
    rows = normalize_2nd_moment(torch.randn(5, 7) * 3)
    torch.testing.assert_close(rows.square().mean(dim=1), torch.ones(5))


def test_the_convolution_is_same_size_or_downsampled_with_he_scaling():
    torch.manual_seed(0)
    conv = EqualizedConv2d(3, 4, 3, activation=False)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight / math.sqrt(27), conv.bias, padding=1))
    assert EqualizedConv2d(3, 4, 3, down=True)(x).shape == (2, 4, 4, 4)
    assert sum(p.numel() for p in conv.parameters()) == 4 * 3 * 9 + 4
