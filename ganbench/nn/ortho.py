"""BigGAN's modified orthogonal regularization (Brock et al. 2019, arXiv:1809.11096, section 3.1)."""

from collections.abc import Iterable

import torch
from torch import nn


def orthogonal_penalty(weights: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum over W of ||W W^T * (1 - I)||_F^2 / 2, each W flattened to (rows, -1).

    Only the off-diagonal of W W^T is penalised: filters are pushed apart without fixing
    their norms. Its gradient, 2 (W W^T * (1 - I)) W, is exactly what BigGAN-PyTorch's
    ``utils.ortho`` adds to each weight's gradient, so ``beta * orthogonal_penalty`` matches
    its ``G_ortho = beta``.
    """
    terms = []
    for weight in weights:
        w = weight.reshape(weight.shape[0], -1)
        off_diagonal = (w @ w.t()) * (1 - torch.eye(w.shape[0], device=w.device, dtype=w.dtype))
        terms.append(0.5 * off_diagonal.square().sum())
    if not terms:
        raise ValueError("orthogonal_penalty needs at least one weight")
    return torch.stack(terms).sum()


def orthogonal_weights(module: nn.Module, skip: Iterable[torch.Tensor] = ()) -> list[torch.Tensor]:
    """The parameters of ``module`` that BigGAN regularises: every one of 2 or more axes, except ``skip``.

    Spectrally normalised layers contribute their unnormalised weight, as in BigGAN-PyTorch.
    """
    skipped = {id(p) for p in skip}
    return [p for p in module.parameters() if p.dim() >= 2 and id(p) not in skipped]
