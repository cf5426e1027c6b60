"""ADA: adaptive discriminator augmentation, its probability steered by D's overfitting.

Karras, Aittala, Hellsten, Laine, Lehtinen & Aila, "Training Generative Adversarial Networks
with Limited Data", NeurIPS 2020. Every image D sees (real or generated, in D's step and in
G's) goes through the same differentiable augmentations, each applied with probability p.
Of the paper's pipeline this implements the pixel-blitting and geometric groups ("bg"), as
``augment.py`` of the authors' stylegan2-ada-pytorch draws them, composed into one affine
map per image and resampled once (bilinear, reflection padding):

- blit: x-flip, rotation by a multiple of 90 degrees, integer translation up to 1/8 of the size;
- geometric: isotropic scaling 2^N(0, 0.2^2), rotation U(-180, 180) degrees (drawn before and
  after the anisotropic scaling, each with probability 1 - sqrt(1 - p), so that one happens
  with probability p), anisotropic scaling 2^N(0, 0.2^2), fractional translation N(0, 0.125^2)
  of the size.

The colour, filtering and corruption groups are not implemented, and stylegan2-ada's
wavelet upsampling around the resampling is replaced by plain bilinear sampling.

p starts at ``p`` (0) and every ``interval`` (4) discriminator steps moves by
sign(r_t - ``target``) * (images seen) / (``kimg`` * 1000), clamped to [0, 1], where
r_t = E[sign(D(real))] over those steps' (augmented) real images: target 0.6 and kimg 500
(p can go from 0 to 1 in 500k images) are the paper's (section 3) and stylegan2-ada-pytorch's
``ada_target``, ``ada_interval`` and ``ada_kimg``. r_t is summed over all processes, so p is
the same on each. p is logged as ``ada_p`` and r_t as ``ada_rt``. Images must be square.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from optuna.distributions import FloatDistribution

from ganbench import ConfigError, Regularizer, RegularizerSpec, hookimpl, per_sample

OPTIONS = {"target": 0.6, "interval": 4, "kimg": 500.0, "p": 0.0}
TRANSLATE_MAX = 0.125  # integer translation, as a fraction of the size
SCALE_STD = 0.2  # log2 of the isotropic and the anisotropic scale factors
TRANSLATE_STD = 0.125  # fractional translation, as a fraction of the size


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(tx), torch.zeros_like(tx)
    return torch.stack([one, zero, tx, zero, one, ty, zero, zero, one], dim=1).view(-1, 3, 3)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros_like(sx)
    return torch.stack([sx, zero, zero, zero, sy, zero, zero, zero, torch.ones_like(sx)], dim=1).view(-1, 3, 3)


def _rotate(theta: torch.Tensor) -> torch.Tensor:
    cos, sin, zero = theta.cos(), theta.sin(), torch.zeros_like(theta)
    return torch.stack([cos, -sin, zero, sin, cos, zero, zero, zero, torch.ones_like(theta)], dim=1).view(-1, 3, 3)


class _Draws:
    """Per-image random values (this process's share of the combined batch), each kept with probability p."""

    def __init__(self, n: int, device: torch.device) -> None:
        self.n, self.device = n, device

    def uniform(self) -> torch.Tensor:
        return per_sample(lambda k: torch.rand(k, device=self.device), self.n)

    def normal(self) -> torch.Tensor:
        return per_sample(lambda k: torch.randn(k, device=self.device), self.n)

    def kept(self, values: torch.Tensor, p: float, neutral: float) -> torch.Tensor:
        return torch.where(self.uniform() < p, values, torch.full_like(values, neutral))


def augmentation_matrices(n: int, p: float, size: int, device: torch.device) -> torch.Tensor:
    """(n, 3, 3) maps from output to input coordinates (affine_grid's normalised [-1, 1]), in ADA's order."""
    draw = _Draws(n, device)
    pixel = 2 / size  # one pixel in normalised coordinates
    steps: list[torch.Tensor] = []
    flip = draw.kept(torch.floor(draw.uniform() * 2), p, 0.0)
    steps.append(_scale(1 - 2 * flip, torch.ones_like(flip)))
    quarter_turns = draw.kept(torch.floor(draw.uniform() * 4), p, 0.0)
    steps.append(_rotate(math.pi / 2 * quarter_turns))
    shift_x, shift_y = ((draw.uniform() * 2 - 1) * TRANSLATE_MAX for _ in range(2))
    keep = (draw.uniform() < p).float()  # both coordinates or neither, as ADA draws them
    steps.append(_translate(*(-torch.round(t * keep * size) * pixel for t in (shift_x, shift_y))))
    scale = draw.kept(torch.exp2(draw.normal() * SCALE_STD), p, 1.0)
    steps.append(_scale(1 / scale, 1 / scale))
    p_rotate = 1 - math.sqrt(max(0.0, 1 - p))
    steps.append(_rotate(draw.kept((draw.uniform() * 2 - 1) * math.pi, p_rotate, 0.0)))
    aniso = draw.kept(torch.exp2(draw.normal() * SCALE_STD), p, 1.0)
    steps.append(_scale(1 / aniso, aniso))
    steps.append(_rotate(draw.kept((draw.uniform() * 2 - 1) * math.pi, p_rotate, 0.0)))
    shift_x, shift_y = draw.normal() * TRANSLATE_STD, draw.normal() * TRANSLATE_STD
    keep = (draw.uniform() < p).float()
    steps.append(_translate(-2 * shift_x * keep, -2 * shift_y * keep))  # a size is 2 normalised units
    matrix = torch.eye(3, device=device).expand(n, 3, 3)
    for step in steps:
        matrix = matrix @ step
    return matrix


def augment(images: torch.Tensor, p: float) -> torch.Tensor:
    """Each image through ADA's blit and geometric augmentations at probability ``p``; differentiable."""
    n, _, height, width = images.shape
    if p <= 0:
        return images
    if height != width:
        raise ConfigError(f"ada augments square images; these are {height}x{width}.")
    matrices = augmentation_matrices(n, p, height, images.device)
    # images drawn no augmentation at all stay exactly as they were (resampling would round them)
    unchanged = (matrices - torch.eye(3, device=images.device)).abs().amax(dim=(1, 2)) < 1e-7
    return torch.where(unchanged.view(n, 1, 1, 1), images, resample(images, matrices))


def resample(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Output pixel (x, y) of each image read at ``matrix @ (x, y, 1)`` (normalised), bilinear, reflected at the edges.

    Pixel centres land on pixel centres under flips, quarter turns and whole-pixel shifts, so those stay exact.
    """
    grid = F.affine_grid(matrices[:, :2].to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _sum_over_processes(values: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values)
    return values


class AdaptiveAugmentation(Regularizer):
    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        kimg: float = 500.0,
        p: float = 0.0,
        sum_over_processes: Callable[[torch.Tensor], torch.Tensor] = _sum_over_processes,
    ) -> None:
        checks = {"target": (target, 0 <= target < 1, "in [0, 1)"), "interval": (interval, interval >= 1, ">= 1")}
        checks |= {"kimg": (kimg, kimg > 0, "> 0"), "p": (p, 0 <= p <= 1, "in [0, 1]")}
        for name, (value, valid, requirement) in checks.items():
            if not valid:
                raise ConfigError(f"reg_options.ada.{name} = {value} is invalid: it must be {requirement}.")
        self.target, self.interval, self.kimg, self.p = float(target), int(interval), float(kimg), float(p)
        self.sum_over_processes = sum_over_processes
        self.signs: torch.Tensor | None = None  # (sum of sign(D(real)), images) since the last adjustment
        self.steps = 0
        self.rt = 0.0

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return augment(images, self.p)

    def output_penalty(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
        logits = real_logits.detach().float()
        seen = torch.stack([logits.sign().sum(), torch.tensor(float(logits.numel()), device=logits.device)])
        self.signs = seen if self.signs is None else self.signs.to(seen.device) + seen
        self.steps += 1
        if self.steps % self.interval == 0:
            self.adjust()
        return None

    def adjust(self) -> None:
        """Move p toward the target of r_t by the images seen since the last adjustment."""
        assert self.signs is not None
        sign_sum, images = self.sum_over_processes(self.signs).tolist()  # the one device sync per interval
        self.signs = None
        self.rt = sign_sum / images
        direction = 1.0 if self.rt > self.target else -1.0 if self.rt < self.target else 0.0
        self.p = min(1.0, max(0.0, self.p + direction * images / (self.kimg * 1000)))

    def logged(self) -> dict[str, float]:
        return {"ada_p": self.p, "ada_rt": self.rt}

    def state_dict(self) -> dict[str, Any]:
        signs = None if self.signs is None else self.signs.cpu()
        return {"p": self.p, "rt": self.rt, "steps": self.steps, "signs": signs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p, self.rt, self.steps, self.signs = state["p"], state["rt"], state["steps"], state["signs"]


def build(options: Mapping[str, Any]) -> AdaptiveAugmentation:
    return AdaptiveAugmentation(**{key: options.get(key, default) for key, default in OPTIONS.items()})


@hookimpl
def ganbench_regularizers() -> list[RegularizerSpec]:
    return [
        RegularizerSpec(
            name="ada",
            description="Adaptive discriminator augmentation, p steered by sign(D(real)) (Karras et al. 2020).",
            build=build,
            options=OPTIONS,
            search_space={"target": FloatDistribution(0.4, 0.8)},
            augments=True,
        )
    ]
