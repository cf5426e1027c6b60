"""``shapes``: an embedded, procedurally generated dataset of labelled coloured shapes.

Each image shows one of eleven shapes (circle, ring, square, frame, triangle, plus, star,
hexagon, ellipse, heart, crescent) with a random position, size, rotation and a bright,
saturated colour of random hue, on a near-black background (option ``background=dark``,
the default). ``background=random`` draws both colours at random, one dark and one light,
which is a good deal harder to learn: in the default 1,000-step job a DCGAN gets the
colours wrong and its FID does not fall, where on dark backgrounds it falls steadily.

Shapes are drawn from signed-distance functions evaluated at pixel centres, so edges are
anti-aliased at any resolution and a scene looks the same at every resolution. The images
depend only on the options and on the split, never on the run's seed; the splits hold
different images.

Signed-distance functions after Inigo Quilez, "2D distance functions"
(https://iquilezles.org/articles/distfunctions2d/).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from matplotlib.colors import hsv_to_rgb

from ganbench import ConfigError, DatasetRequest, DatasetSpec, hookimpl
from ganbench.data import TensorImageDataset

SPLITS = ("train", "test")
DEFAULT_SIZES = {"train": 10_000, "test": 2_000}
BACKGROUNDS = ("dark", "random")
OPTIONS: dict[str, Any] = {"seed": 0, "size": None, "background": "dark"}

# A shape's radius as a fraction of the image side; large shapes make the dataset quick to learn.
RADIUS_RANGE = (0.24, 0.4)
# background=dark: a fixed near-black background; shapes of any hue, saturated and bright.
DARK_BACKGROUND = 0.08
SATURATION_RANGE = (0.6, 1.0)
VALUE_RANGE = (0.8, 1.0)
# background=random: the darker of shape and background has channels in [0, DARK]; the lighter in [1 - DARK, 1].
DARK = 0.4
# pixels rendered per chunk: bounds memory while keeping each tensor operation large
CHUNK_PIXELS = 1 << 22

SDF = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- signed distances
# Each takes coordinates in the shape's own frame (the shape fits in the unit disc) and
# returns the signed distance to its outline in the same units: negative inside.


def _box(x: torch.Tensor, y: torch.Tensor, half_width: float, half_height: float) -> torch.Tensor:
    dx, dy = x.abs() - half_width, y.abs() - half_height
    return torch.hypot(dx.clamp(min=0), dy.clamp(min=0)) + torch.maximum(dx, dy).clamp(max=0)


def circle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.hypot(x, y) - 1.0


def ring(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (torch.hypot(x, y) - 0.7).abs() - 0.3


def square(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _box(x, y, 0.75, 0.75)


def frame(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _box(x, y, 0.7, 0.7).abs() - 0.2


def triangle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Equilateral, centred on its centroid, circumradius 1."""
    k, half_side = math.sqrt(3.0), math.sqrt(3.0) / 2
    x = x.abs() - half_side
    y = y + half_side / k
    fold = x + k * y > 0
    x, y = torch.where(fold, (x - k * y) / 2, x), torch.where(fold, (-k * x - y) / 2, y)
    x = x - x.clamp(-2 * half_side, 0.0)
    return -torch.hypot(x, y) * torch.sign(y)


def plus(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    arm_length, arm_width = 0.95, 0.32
    x, y = x.abs(), y.abs()
    x, y = torch.maximum(x, y), torch.minimum(x, y)
    qx, qy = x - arm_length, y - arm_width
    k = torch.maximum(qx, qy)
    wx = torch.where(k > 0, qx, arm_width - x)
    wy = torch.where(k > 0, qy, -k)
    return torch.sign(k) * torch.hypot(wx.clamp(min=0), wy.clamp(min=0))


def star(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Five points on the unit circle; the inner corners at 0.45 of that radius."""
    k1x, k1y = 0.809016994375, -0.587785252292
    inner = 0.45
    x = x.abs()
    for kx, ky in ((k1x, k1y), (-k1x, k1y)):
        reflect = 2 * (kx * x + ky * y).clamp(min=0)
        x, y = x - reflect * kx, y - reflect * ky
    x, y = x.abs(), y - 1.0
    bax, bay = -inner * k1y, inner * k1x - 1.0
    h = ((x * bax + y * bay) / (bax * bax + bay * bay)).clamp(0.0, 1.0)
    return torch.hypot(x - bax * h, y - bay * h) * torch.sign(y * bax - x * bay)


def hexagon(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Regular, circumradius 1."""
    kx, ky, kz = -0.866025404, 0.5, 0.577350269
    apothem = math.sqrt(3.0) / 2
    x, y = x.abs(), y.abs()
    reflect = 2 * (kx * x + ky * y).clamp(max=0)
    x, y = x - reflect * kx, y - reflect * ky
    x = x - x.clamp(-kz * apothem, kz * apothem)
    y = y - apothem
    return torch.hypot(x, y) * torch.sign(y)


def ellipse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Semi-axes 1 and 0.5; a first-order distance estimate, exact on the outline."""
    a, b = 1.0, 0.5
    k0 = torch.hypot(x / a, y / b)
    k1 = torch.hypot(x / (a * a), y / (b * b)).clamp(min=1e-6)
    return k0 * (k0 - 1.0) / k1


def heart(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Quilez's heart spans x in [-0.6, 0.6], y in [0, 1.1]: scale it into the unit disc, centred.
    scale = 0.55
    x, y = x.abs() * scale, y * scale + 0.55
    lobe = torch.hypot(x - 0.25, y - 0.75) - math.sqrt(2.0) / 4
    t = 0.5 * (x + y).clamp(min=0)
    body = torch.minimum(torch.hypot(x, y - 1.0), torch.hypot(x - t, y - t)) * torch.sign(x - y)
    return torch.where(x + y > 1.0, lobe, body) / scale


def crescent(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.maximum(torch.hypot(x, y) - 1.0, 0.8 - torch.hypot(x - 0.55, y))


SHAPES: dict[str, SDF] = {
    sdf.__name__: sdf for sdf in (circle, ring, square, frame, triangle, plus, star, hexagon, ellipse, heart, crescent)
}


# --------------------------------------------------------------------------- scenes


@dataclass(frozen=True)
class Scenes:
    """What each image shows, independent of resolution: lengths are fractions of the image side."""

    labels: torch.Tensor  # (N,) int64 index into SHAPES
    centres: torch.Tensor  # (N, 2) x, y
    radii: torch.Tensor  # (N,)
    angles: torch.Tensor  # (N,) radians
    foregrounds: torch.Tensor  # (N, 3) RGB in [0, 1]
    backgrounds: torch.Tensor  # (N, 3)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: slice | torch.Tensor) -> Scenes:
        return Scenes(*(getattr(self, f.name)[index] for f in fields(self)))


def draw_scenes(count: int, generator: torch.Generator, background: str = "dark") -> Scenes:
    """Random scenes with classes as balanced as ``count`` allows."""
    labels = torch.randperm(count, generator=generator) % len(SHAPES)
    radii = _uniform(RADIUS_RANGE, count, generator)
    # keep the unit disc of every shape inside the image
    centres = radii[:, None] + (1 - 2 * radii[:, None]) * torch.rand(count, 2, generator=generator)
    angles = 2 * math.pi * torch.rand(count, generator=generator)
    colours = _bright_on_dark if background == "dark" else _light_and_dark
    foregrounds, backgrounds = colours(count, generator)
    return Scenes(labels, centres, radii, angles, foregrounds, backgrounds)


def _bright_on_dark(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    hue = torch.rand(count, generator=generator)
    saturation = _uniform(SATURATION_RANGE, count, generator)
    value = _uniform(VALUE_RANGE, count, generator)
    foregrounds = torch.from_numpy(hsv_to_rgb(torch.stack([hue, saturation, value], dim=1).numpy()))
    return foregrounds, torch.full((count, 3), DARK_BACKGROUND)


def _light_and_dark(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    dark = DARK * torch.rand(count, 3, generator=generator)
    light = 1 - DARK * torch.rand(count, 3, generator=generator)
    light_shape = torch.rand(count, 1, generator=generator) < 0.5
    return torch.where(light_shape, light, dark), torch.where(light_shape, dark, light)


def _uniform(bounds: tuple[float, float], count: int, generator: torch.Generator) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(count, generator=generator)


def render(scenes: Scenes, resolution: int) -> torch.Tensor:
    """uint8 RGB images (N, 3, resolution, resolution) of ``scenes``."""
    images = torch.empty((len(scenes), 3, resolution, resolution), dtype=torch.uint8)
    chunk = max(1, CHUNK_PIXELS // resolution**2)
    for start in range(0, len(scenes), chunk):
        images[start : start + chunk] = _render_chunk(scenes[start : start + chunk], resolution)
    return images


def _render_chunk(scenes: Scenes, resolution: int) -> torch.Tensor:
    coverage = torch.empty((len(scenes), resolution, resolution))
    for label, sdf in enumerate(SHAPES.values()):
        members = (scenes.labels == label).nonzero().squeeze(1)
        if len(members):
            coverage[members] = _coverage(sdf, scenes[members], resolution)
    background = scenes.backgrounds[:, :, None, None]
    image = background + (scenes.foregrounds[:, :, None, None] - background) * coverage[:, None]
    return image.mul_(255).round_().to(torch.uint8)


def _coverage(sdf: SDF, scenes: Scenes, resolution: int) -> torch.Tensor:
    """The fraction of each pixel the shape covers, from its distance to the outline in pixels."""
    pixel_centres = (torch.arange(resolution) + 0.5) / resolution
    dx = pixel_centres[None, None, :] - scenes.centres[:, 0, None, None]
    dy = pixel_centres[None, :, None] - scenes.centres[:, 1, None, None]
    cos, sin = scenes.angles.cos()[:, None, None], scenes.angles.sin()[:, None, None]
    radii = scenes.radii[:, None, None]
    distance = sdf((cos * dx + sin * dy) / radii, (cos * dy - sin * dx) / radii) * (radii * resolution)
    # a pixel-wide linear ramp across the outline: a box filter of the edge
    return (0.5 - distance).clamp_(0.0, 1.0)


# --------------------------------------------------------------------------- the dataset


def _int_option(options: Mapping[str, Any], name: str, minimum: int) -> int:
    value = options[name]
    try:
        number = int(value)
        valid = number == float(value) and not isinstance(value, bool)
    except (TypeError, ValueError):
        valid = False
    if not valid or number < minimum:
        raise ConfigError(
            f"The shapes dataset's option {name} = {value!r} is invalid: it must be a whole number of at "
            f"least {minimum}. Pass --dataset-option {name}=N with such a number N, or leave it out."
        )
    return number


def build_shapes(request: DatasetRequest) -> TensorImageDataset:
    options = {**OPTIONS, **request.options}
    seed = _int_option(options, "seed", 0)
    size = DEFAULT_SIZES[request.split] if options["size"] is None else _int_option(options, "size", 1)
    # one stream per (seed, split): the splits never share images, and no seed repeats another's split
    generator = torch.Generator().manual_seed(seed * len(SPLITS) + SPLITS.index(request.split))
    if options["background"] not in BACKGROUNDS:
        raise ConfigError(
            f"The shapes dataset's option background = {options['background']!r} is invalid: it must be one of "
            f"{', '.join(BACKGROUNDS)}. Pass --dataset-option background=dark (the default) or background=random."
        )
    scenes = draw_scenes(size, generator, options["background"])
    return TensorImageDataset(render(scenes, request.resolution), scenes.labels, list(SHAPES), request.resolution)


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="shapes",
            description=(
                f"{len(SHAPES)} classes of coloured shapes, generated (embedded, no files); "
                "options: seed, size (images per split, default 10000 train / 2000 test), "
                "background (dark, the default, or random: harder)."
            ),
            build=build_shapes,
            splits=SPLITS,
            options=OPTIONS,
            needs_files=False,
            version="2",  # 2: bright shapes on dark backgrounds by default
        )
    ]
