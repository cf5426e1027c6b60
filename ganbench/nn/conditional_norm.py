"""Conditional batch normalization (de Vries et al. 2017; Miyato & Koyama 2018; Brock et al. 2019)."""

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without affine parameters, followed by a gain and a bias looked up by class.

    The per-class tables start at gain 1 and bias 0, so the layer is plain batch norm until
    training separates the classes. They are plain parameters indexed by label rather than
    ``nn.Embedding`` layers so that whole-network helpers (``spectral_norm_all``, the
    initialisations in ``ganbench.nn.init``), which treat every embedding as a weight matrix,
    leave them alone: a spectrally normalised table of ones would scale every feature to
    almost zero.
    """

    def __init__(self, num_features: int, num_classes: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Parameter(torch.ones(num_classes, num_features))
        self.bias = nn.Parameter(torch.zeros(num_classes, num_features))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gain = self.gain[labels][:, :, None, None]
        bias = self.bias[labels][:, :, None, None]
        return self.norm(x) * gain + bias


class LinearConditionalBatchNorm2d(nn.Module):
    """Batch norm without affine parameters, then a gain ``1 + linear(c)`` and a bias ``linear(c)`` of a vector c.

    BigGAN's conditional batch norm (Brock et al. 2019, arXiv:1809.11096): c is the block's
    latent chunk with the shared class embedding appended (or the chunk alone, unconditionally).
    The linear layers have no bias, and the gain is an offset from 1 so that the layer starts
    near plain batch norm, as in BigGAN-PyTorch (layers.ccbn) and StudioGAN (ops.ConditionalBatchNorm2d);
    their batch norm has eps 1e-4.
    """

    def __init__(self, num_features: int, condition_dim: int, eps: float = 1e-4, momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Linear(condition_dim, num_features, bias=False)
        self.bias = nn.Linear(condition_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(condition)[:, :, None, None]
        return self.norm(x) * gain + self.bias(condition)[:, :, None, None]
