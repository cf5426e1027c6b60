import torch

from ganbench.nn import ConditionalBatchNorm2d


def test_it_starts_as_batch_norm_without_affine_parameters():
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(4, num_classes=3)
    assert torch.equal(norm.gain, torch.ones(3, 4)) and torch.equal(norm.bias, torch.zeros(3, 4))
    assert sum(p.numel() for p in norm.parameters()) == 2 * 3 * 4  # a gain and a bias per class and channel
    x = torch.randn(6, 4, 5, 5)
    plain = torch.nn.BatchNorm2d(4, affine=False)
    torch.testing.assert_close(norm(x, torch.tensor([0, 1, 2, 0, 1, 2])), plain(x))


def test_the_label_changes_the_output_for_the_same_input():
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(4, num_classes=3)
    with torch.no_grad():
        norm.gain.uniform_(0.5, 1.5)
        norm.bias.normal_()
    x = torch.randn(1, 4, 5, 5).repeat(3, 1, 1, 1)
    out = norm.eval()(x, torch.tensor([0, 1, 2]))  # eval: running statistics, the same for every sample
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    # each sample gets its own class's gain and bias
    normalised = norm.norm(x[:1])
    torch.testing.assert_close(out[2], (normalised * norm.gain[2, :, None, None] + norm.bias[2, :, None, None])[0])


def test_only_the_classes_in_the_batch_get_gradients():
    norm = ConditionalBatchNorm2d(4, num_classes=3)
    norm(torch.randn(4, 4, 2, 2), torch.tensor([0, 0, 2, 2])).square().sum().backward()
    assert norm.gain.grad[1].abs().sum() == 0 and norm.gain.grad[[0, 2]].abs().sum() > 0
