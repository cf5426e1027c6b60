import math

import torch
import torch.nn.functional as F

from ganbench.nn import StyleConv, ToRGB, fir_kernel, modulated_conv2d, upsample2d


def test_modulation_and_demodulation_by_hand():
    # one pixel, a 1x1 convolution: w = [[1, 2], [3, 4]], style s = (1, 0.5) -> w' = [[1, 1], [3, 2]];
    # demodulation divides row o by ||w'_o||: sqrt(2) and sqrt(13); x = (1, 1)
    weight = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(2, 2, 1, 1)
    x, styles = torch.ones(1, 2, 1, 1), torch.tensor([[1.0, 0.5]])
    out = modulated_conv2d(x, weight, styles)
    torch.testing.assert_close(out.flatten(), torch.tensor([2 / math.sqrt(2), 5 / math.sqrt(13)]))
    plain = modulated_conv2d(x, weight, styles, demodulate=False)
    torch.testing.assert_close(plain.flatten(), torch.tensor([2.0, 5.0]))


def test_it_equals_a_convolution_with_each_samples_modulated_weights():
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 4, 6, 6), torch.randn(5, 4, 3, 3), torch.randn(3, 4)
    for n in range(3):
        w = weight * styles[n].view(1, -1, 1, 1)
        w = w / w.square().sum(dim=(1, 2, 3), keepdim=True).sqrt()
        expected = F.conv2d(x[n : n + 1], w, padding=1)
        torch.testing.assert_close(modulated_conv2d(x, weight, styles)[n : n + 1], expected, atol=1e-5, rtol=0)


def test_demodulation_keeps_unit_variance_whatever_the_styles():
    torch.manual_seed(0)
    x = torch.randn(32, 32, 10, 10)
    weight, styles = torch.randn(16, 32, 3, 3), torch.randn(32, 32).exp() * 5
    out = modulated_conv2d(x, weight, styles)[..., 1:-1, 1:-1]  # away from the zero padding
    assert abs(out.var().item() - 1) < 0.05
    assert modulated_conv2d(x, weight, styles, demodulate=False).var().item() > 100


def test_the_style_conv_adds_random_or_fixed_noise_and_upsamples():
    torch.manual_seed(0)
    layer = StyleConv(4, 6, w_dim=5, resolution=8, up=True)
    x, w = torch.randn(2, 4, 4, 4), torch.randn(2, 5)
    assert layer.noise_strength.item() == 0 and torch.equal(layer(x, w), layer(x, w, torch.randn(2, 1, 8, 8)))
    with torch.no_grad():
        layer.noise_strength.fill_(1.0)
    assert layer(x, w).shape == (2, 6, 8, 8)
    assert torch.equal(layer(x, w), layer(x, w))  # the layer's fixed noise image
    assert not torch.equal(layer(x, w), layer(x, w, torch.randn(2, 1, 8, 8)))


def test_to_rgb_adds_its_output_to_the_upsampled_image():
    torch.manual_seed(0)
    layer = ToRGB(4, 3, w_dim=5)
    x, w, image = torch.randn(2, 4, 8, 8), torch.randn(2, 5), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(layer(x, w, image), upsample2d(image, fir_kernel()) + layer(x, w))
    # 1x1 weights, styles scaled by 1/sqrt(4), no demodulation: 3*4 + 3 + affine 5*4 + 4
    assert sum(p.numel() for p in layer.parameters()) == 12 + 3 + 24
