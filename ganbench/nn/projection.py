"""The projection discriminator's output layer (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018)."""

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """logit = linear(phi(x)) + <embed(y), phi(x)> on a discriminator's pooled features phi(x).

    With ``num_classes`` 0 it is the unconditional head, ``linear(phi(x))`` alone.
    """

    def __init__(self, features: int, num_classes: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embedding = nn.Embedding(num_classes, features) if num_classes else None

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.linear(features).squeeze(1)
        if self.embedding is not None:
            if labels is None:
                raise ValueError("a class-conditional projection head needs labels")
            logits = logits + (self.embedding(labels) * features).sum(dim=1)
        return logits
