"""A deterministic edge detector in torch: condition images (sketches) derived from any image dataset."""

import torch
import torch.nn.functional as F

# ITU-R BT.601 luma weights of R, G, B
LUMA = (0.299, 0.587, 0.114)
# a 3x3 binomial blur, then Sobel derivatives: the classic smoothed gradient
_BLUR = torch.tensor([1.0, 2.0, 1.0])
_SMOOTH = torch.outer(_BLUR, _BLUR) / 16
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def _filter(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    padded = F.pad(images, (1, 1, 1, 1), mode="replicate")  # no false edges at the border
    return F.conv2d(padded, kernel.to(images)[None, None])


def edge_map(images: torch.Tensor) -> torch.Tensor:
    """Edges of images (N, C, H, W) in [-1, 1], C 1 or 3, as (N, 1, H, W) in [-1, 1]: 1 on the strongest edge.

    The luminance is blurred (3x3 binomial), its Sobel gradient magnitude taken and divided by
    each image's largest, so an edge map does not depend on the image's contrast; a flat image
    gives -1 everywhere. The same input always gives the same output.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"edge_map needs images (N, 1 or 3, H, W), not {tuple(images.shape)}")
    images = (images.float() + 1) / 2
    if images.shape[1] == 3:
        images = (images * torch.tensor(LUMA, device=images.device)[None, :, None, None]).sum(1, keepdim=True)
    smooth = _filter(images, _SMOOTH)
    magnitude = torch.hypot(_filter(smooth, _SOBEL_X), _filter(smooth, _SOBEL_X.T))
    scale = magnitude.amax(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    return (magnitude / scale).clamp(max=1.0) * 2 - 1
