"""Class conditioning by label embedding, for generators and discriminators."""

import torch
from torch import nn


def concat_label_embedding(z: torch.Tensor, labels: torch.Tensor, embedding: nn.Embedding) -> torch.Tensor:
    """A generator's input: the latent vector with the label's embedding appended."""
    return torch.cat([z, embedding(labels)], dim=1)


class LabelMap(nn.Module):
    """Embeds a label as one extra image channel, appended to a discriminator's input."""

    def __init__(self, num_classes: int, resolution: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.embedding = nn.Embedding(num_classes, resolution * resolution)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        label_channel = self.embedding(labels).view(-1, 1, self.resolution, self.resolution)
        return torch.cat([images, label_channel.to(images.dtype)], dim=1)
