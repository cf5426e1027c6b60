import pytest
import torch

from ganbench.nn import MinibatchStd
from ganbench.nn.minibatch_std import group_size


@pytest.mark.parametrize(
    ("batch", "largest", "size"), [(64, 32, 32), (16, 32, 16), (5, 32, 5), (40, 32, 20), (7, 4, 1)]
)
def test_the_group_is_the_largest_divisor_of_the_batch_up_to_the_size(batch, largest, size):
    assert group_size(batch, largest) == size


def test_each_sample_gets_the_mean_std_of_its_group_as_one_more_channel():
    x = torch.tensor([1.0, 10.0, 3.0, 14.0]).view(4, 1, 1, 1).repeat(1, 2, 1, 1)
    x[:, 1] *= 2  # the second feature varies twice as much
    out = MinibatchStd(group_size=2)(x)
    assert out.shape == (4, 3, 1, 1)
    assert torch.equal(out[:, :2], x)
    # groups are samples {0, 2} and {1, 3} (i mod 2), and the std of two values is |a - b| / 2:
    # group {0, 2} has stds 1 and 2 (the doubled feature), mean 1.5; group {1, 3} 2 and 4, mean 3
    group_stds = torch.tensor([1.5, 3.0])
    torch.testing.assert_close(out[:, 2].flatten(), group_stds[[0, 1, 0, 1]], atol=1e-4, rtol=0)
