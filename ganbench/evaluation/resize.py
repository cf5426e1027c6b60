"""The ``resize`` protocol switch: how images reach a feature extractor's input size.

``legacy-tf``: the extractor resizes them itself, as torch-fidelity's networks do, with the
TensorFlow 1 bilinear resize of the original FID code (no antialiasing). ``clean``: clean-fid's
resize (Parmar et al. 2022, "On aliased resizing and surprising subtleties in GAN evaluation"),
done here with clean-fid's own function: PIL bicubic on float pixels, antialiased when shrinking.
torch-fidelity's networks take 8-bit images, so the result is rounded back to 8 bits (at most
0.5/255 from clean-fid's floats); at the network's own size their internal resize is the identity.
"""

from __future__ import annotations

import numpy as np
import torch
from cleanfid.resize import make_resizer

from ganbench.config import RESIZES
from ganbench.errors import ConfigError
from ganbench.specs import FeatureExtractor

DEFAULT_RESIZE = RESIZES[0]


def input_size(extractor: FeatureExtractor) -> int | None:
    """The square size ``extractor``'s network reads (None: any; see ``FeatureExtractor``)."""
    return getattr(extractor, "input_size", None)


def applied_resize(extractor: FeatureExtractor, resize: str) -> str | None:
    """The resize that shapes ``extractor``'s features under the setting ``resize`` (None: it resizes nothing)."""
    if resize not in RESIZES:
        raise ConfigError(f"resize = {resize!r} is invalid: it must be one of {', '.join(RESIZES)}.")
    return resize if input_size(extractor) else None


def fit_to_extractor(images: torch.Tensor, extractor: FeatureExtractor, resize: str) -> torch.Tensor:
    """uint8 RGB ``images`` (N, 3, H, W) as ``extractor`` should receive them under ``resize``."""
    size = input_size(extractor)
    if applied_resize(extractor, resize) != "clean" or size is None or images.shape[-2:] == (size, size):
        return images
    return clean_resize(images, size)


def clean_resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 RGB ``images`` (N, 3, H, W) resized to ``size`` x ``size`` by clean-fid, rounded to uint8."""
    resizer = make_resizer("PIL", False, "bicubic", (size, size))
    pixels = images.permute(0, 2, 3, 1).cpu().numpy()  # clean-fid resizes one (H, W, C) image at a time
    resized = np.stack([resizer(image) for image in pixels])
    return torch.from_numpy(resized).round_().clamp_(0, 255).to(torch.uint8).permute(0, 3, 1, 2).contiguous()
