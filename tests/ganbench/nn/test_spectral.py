"""spectral_norm_all."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from ganbench.nn import ConditionalBatchNorm2d, spectral_norm_all
from tests.support.models import check_spectral_norms


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(5, 8)
        self.linear = nn.Linear(8, 4 * 4 * 8)
        self.up = nn.ConvTranspose2d(8, 6, 4, 2, 1)
        self.norm = ConditionalBatchNorm2d(6, 5)
        self.conv = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        h = self.linear(self.embedding(labels)).view(-1, 8, 4, 4)
        return self.conv(self.norm(self.up(h), labels))


def test_every_weight_layer_is_normalised_and_nothing_else():
    torch.manual_seed(0)
    model = Mixed()
    for layer in (model.embedding, model.linear, model.up, model.conv):
        nn.init.normal_(layer.weight, 0, 3)  # spectral norms far from 1
    assert spectral_norm_all(model) is model
    wrapped = {name for name, layer in model.named_modules() if parametrize.is_parametrized(layer, "weight")}
    assert wrapped == {"embedding", "linear", "up", "conv"}
    # the class-conditional norm's per-class tables are not weights to normalise
    assert not parametrize.is_parametrized(model.norm)
    assert torch.equal(model.norm.gain, torch.ones(5, 6))
    # the 15 power iterations at registration and a few in train mode bring every norm to 1
    model.train()
    for _ in range(3):
        model(torch.arange(5))
    check_spectral_norms(model, 4)


def test_normalising_twice_wraps_once():
    model = spectral_norm_all(spectral_norm_all(nn.Sequential(nn.Linear(3, 4))))
    assert len(model[0].parametrizations.weight) == 1


def test_normalised_weights_still_train():
    torch.manual_seed(0)
    model = spectral_norm_all(nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 1)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(5):
        optimizer.zero_grad()
        model(torch.randn(8, 2, 6, 6)).square().mean().backward()
        optimizer.step()
    assert all(not torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    check_spectral_norms(model, 2)
