"""Spectral normalization of a whole network (Miyato et al. 2018, arXiv:1802.05957)."""

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

SPECTRAL_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def spectral_norm_all(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Divide the weight of every conv, transposed conv, linear and embedding layer by its largest singular value.

    Uses PyTorch's parametrization: the singular value is estimated by ``n_power_iterations``
    of power iteration per forward pass in train mode (the papers use 1), with the stored
    estimate in eval mode. Initialise the weights first: the parametrization takes over
    ``layer.weight``, and writing to it afterwards has no effect. Layers that are already
    normalised are left alone. Returns ``module``.
    """
    layers = [layer for layer in module.modules() if isinstance(layer, SPECTRAL_LAYERS)]
    for layer in layers:
        if not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module
