import pytest
import torch
import torch.nn.functional as F

from ganbench.nn import blur, conv2d_resampled, downsample2d, fir_kernel, upsample2d

TAPS_1D = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8


def test_the_kernel_is_the_normalised_outer_product_of_the_taps():
    torch.testing.assert_close(fir_kernel(), torch.outer(TAPS_1D, TAPS_1D))


def test_upsampling_spreads_a_pixel_over_the_four_rows_around_its_two_children():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 1, 1] = 1
    up = upsample2d(x, fir_kernel())
    assert up.shape == (1, 1, 8, 8)
    # pixel 1 becomes pixels 2 and 3; the filter at gain 2 per axis covers 1..4, centred between them
    expected = torch.zeros(8, 8)
    expected[1:5, 1:5] = torch.outer(TAPS_1D, TAPS_1D) * 4
    torch.testing.assert_close(up[0, 0], expected)


def test_downsampling_filters_then_keeps_every_second_pixel():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 2, 2] = 1
    down = downsample2d(x, fir_kernel())
    assert down.shape == (1, 1, 4, 4)
    expected = torch.zeros(4, 4)
    # output pixel 1 covers input pixels 2 and 3 (weights 3/8 each), pixel 0 reaches 2 with its last tap (1/8)
    expected[:2, :2] = torch.outer(TAPS_1D[:2], TAPS_1D[:2])
    torch.testing.assert_close(down[0, 0], expected)


@pytest.mark.parametrize("resample", [lambda x: upsample2d(x, fir_kernel()), lambda x: downsample2d(x, fir_kernel())])
def test_a_constant_image_stays_constant_away_from_the_borders(resample):
    out = resample(torch.full((1, 2, 8, 8), 3.0))
    torch.testing.assert_close(out[..., 2:-2, 2:-2], torch.full_like(out[..., 2:-2, 2:-2], 3.0))


def test_resampling_convolutions_are_the_convolution_and_the_resampling_inside_the_borders():
    torch.manual_seed(0)
    x, kernel = torch.randn(2, 3, 8, 8), fir_kernel()
    weight = torch.randn(4, 3, 3, 3)
    weight = weight + weight.flip(2, 3)  # the transposed convolution of `up` does not flip the weight
    assert conv2d_resampled(x, weight).shape == (2, 4, 8, 8)
    # the border pixels differ: the reference pads the zero-inserted map, not the upsampled one
    up = conv2d_resampled(x, weight, kernel, up=True)
    expected = F.conv2d(upsample2d(x, kernel), weight, padding=1)
    assert up.shape == expected.shape
    torch.testing.assert_close(up[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5, rtol=0)
    down = conv2d_resampled(x, weight, kernel, down=True)
    torch.testing.assert_close(down, F.conv2d(blur(x, kernel, (2, 2)), weight)[..., ::2, ::2], atol=1e-5, rtol=0)


def test_resampling_needs_the_kernel():
    with pytest.raises(ValueError, match="needs the FIR kernel"):
        conv2d_resampled(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3), up=True)
