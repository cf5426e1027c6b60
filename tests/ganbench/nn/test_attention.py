import pytest
import torch

from ganbench.nn import SelfAttention


def test_parameters_follow_the_paper():
    # f, g: C -> C/8; h: C -> C/2; v: C/2 -> C, all 1x1 without bias; plus the scalar gamma:
    # C*C/8 * 2 + C*C/2 + C/2*C + 1 = 1.25 * C^2 + 1 = 20,481 for C = 128
    block = SelfAttention(128)
    assert sum(p.numel() for p in block.parameters()) == 20_481
    assert [block.f.out_channels, block.g.out_channels, block.h.out_channels, block.v.out_channels] == [16, 16, 64, 128]


def test_it_is_the_identity_at_initialisation():
    torch.manual_seed(0)
    block = SelfAttention(16)
    assert block.gamma.item() == 0
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)


def test_attention_mixes_positions_once_gamma_is_not_zero():
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(1, 16, 8, 8)
    moved = x.clone()
    moved[..., 0, 0] += 3  # change one corner
    # with gamma 0 the far corner sees nothing of it; a stack of 1x1 convs never would
    assert torch.equal(block(x)[..., 7, 7], block(moved)[..., 7, 7])
    with torch.no_grad():
        block.gamma.fill_(1.0)
    far = (block(x)[..., 7, 7] - block(moved)[..., 7, 7]).abs().max()
    assert far > 1e-4


def test_gamma_learns_from_zero():
    block = SelfAttention(8)
    block(torch.randn(2, 8, 4, 4)).square().sum().backward()
    assert block.gamma.grad.abs() > 0  # the convs' gradients are zero until gamma moves


def test_channels_must_be_a_multiple_of_eight():
    with pytest.raises(ValueError, match="multiple of 8"):
        SelfAttention(12)
