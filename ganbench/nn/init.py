"""Weight initialisations from the papers."""

from typing import TypeGuard

from torch import nn
from torch.nn.utils import parametrize

from ganbench.nn.resnet import DownBlock, UpBlock

WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def _has_weight(layer: nn.Module) -> TypeGuard[nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Embedding]:
    """Whether ``layer`` is a conv, linear or embedding layer (whose weight can still be written)."""
    if not isinstance(layer, WEIGHT_LAYERS):
        return False
    if parametrize.is_parametrized(layer, "weight"):
        raise ValueError("initialise the weights before spectral_norm_all: a parametrized weight cannot be written")
    return True


def _zero_bias(layer: nn.Module) -> None:
    bias = getattr(layer, "bias", None)  # an Embedding has none
    if bias is not None:
        nn.init.zeros_(bias)


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN's initialisation (Radford et al. 2016): conv and linear weights ~ N(0, std), norm scales ~ N(1, std).

    Label embeddings keep PyTorch's N(0, 1), the scale of the one-hot labels the conditional papers
    feed in: at N(0, std) a label is 50 times fainter than the latent and the image beside it, and
    a cDCGAN trained 500 steps on MNIST ignored it (proxy-acc 0.096, chance 0.1; 0.76 at N(0, 1)).
    """
    for layer in module.modules():
        if isinstance(layer, nn.Embedding):
            continue
        if _has_weight(layer):
            nn.init.normal_(layer.weight, 0.0, std)
            _zero_bias(layer)
        elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
            nn.init.normal_(layer.weight, 1.0, std)
            nn.init.zeros_(layer.bias)


def xavier_init(module: nn.Module, residual_gain: float = 1.0) -> None:
    """Xavier-uniform (Glorot) weights and zero biases for every conv, linear and embedding layer.

    ``residual_gain`` is the gain of the two 3x3 convs inside each ``UpBlock`` and
    ``DownBlock``: sqrt(2) in the chainer code of SNGAN and cGAN-PD (Miyato et al. 2018),
    1 in SAGAN's TensorFlow code (Zhang et al. 2019); every other layer has gain 1 in both.
    Norm layers keep their (1, 0). Call it before ``spectral_norm_all``.
    """
    residual = {
        conv
        for block in module.modules()
        if isinstance(block, (UpBlock, DownBlock))
        for conv in (block.conv1, block.conv2)
    }
    for layer in module.modules():
        if _has_weight(layer):
            nn.init.xavier_uniform_(layer.weight, gain=residual_gain if layer in residual else 1.0)
            _zero_bias(layer)


def orthogonal_init(module: nn.Module) -> None:
    """Orthogonal weights (Saxe et al. 2014) and zero biases for every conv, linear and embedding layer.

    BigGAN's initialisation (Brock et al. 2019; ``G_init``/``D_init`` "ortho" in BigGAN-PyTorch,
    ``g_init``/``d_init`` in StudioGAN). Norm layers keep their (1, 0). Call it before ``spectral_norm_all``.
    """
    for layer in module.modules():
        if _has_weight(layer):
            nn.init.orthogonal_(layer.weight)
            _zero_bias(layer)
