"""Weight initialisations from the papers."""

from torch import nn


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN's initialisation (Radford et al. 2016): conv and linear weights ~ N(0, std), norm scales ~ N(1, std)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(layer.weight, 0.0, std)
            bias = getattr(layer, "bias", None)  # an Embedding has none
            if bias is not None:
                nn.init.zeros_(bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)
