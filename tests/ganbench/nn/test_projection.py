import pytest
import torch

from ganbench.nn import ProjectionHead


def test_the_logit_is_linear_plus_the_projection_of_the_label_embedding():
    torch.manual_seed(0)
    head = ProjectionHead(6, num_classes=4)
    features, labels = torch.randn(5, 6), torch.tensor([0, 1, 2, 3, 1])
    expected = features @ head.linear.weight[0] + head.linear.bias + (head.embedding.weight[labels] * features).sum(1)
    logits = head(features, labels)
    assert logits.shape == (5,)
    torch.testing.assert_close(logits, expected)
    assert sum(p.numel() for p in head.parameters()) == 6 + 1 + 4 * 6


def test_unconditional_head_is_linear():
    head = ProjectionHead(6)
    features = torch.randn(3, 6)
    assert head.embedding is None
    torch.testing.assert_close(head(features), head.linear(features).squeeze(1))


def test_a_conditional_head_needs_labels():
    with pytest.raises(ValueError, match="needs labels"):
        ProjectionHead(6, num_classes=2)(torch.randn(3, 6))
