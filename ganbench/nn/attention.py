"""The self-attention block of SAGAN (Zhang et al., "Self-Attention Generative Adversarial Networks", ICML 2019)."""

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """x + gamma * v(attention of every position over the 2x2-max-pooled positions).

    The paper's f (keys), g (queries) and h (values) are 1x1 convs to C/8, C/8 and C/2
    channels; v maps back to C. As in the authors' TensorFlow code and BigGAN's, keys and
    values are max-pooled 2x2 (a quarter of the cost) and the convs have no bias. ``gamma``
    starts at 0, so the block is the identity until training turns attention on.
    The feature map's height and width must be even.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 8:
            raise ValueError(f"SelfAttention needs a multiple of 8 channels, got {channels}")
        self.f = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.g = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.h = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.v = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, height, width = x.shape
        queries = self.g(x).flatten(2)  # (N, C/8, HW)
        keys = F.max_pool2d(self.f(x), 2).flatten(2)  # (N, C/8, HW/4)
        values = F.max_pool2d(self.h(x), 2).flatten(2)  # (N, C/2, HW/4)
        attention = torch.softmax(queries.transpose(1, 2) @ keys, dim=-1)  # (N, HW, HW/4), rows sum to 1
        attended = (values @ attention.transpose(1, 2)).view(n, c // 2, height, width)
        return x + self.gamma * self.v(attended)
