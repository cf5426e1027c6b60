"""Building blocks for dataset plugins: resizing, image files, and two ``ImageDataset`` classes.

Images travel as uint8 tensors (C, H, W) until a dataset hands them out; only then do they
become floats in [-1, 1], so a dataset held in memory costs one byte per value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.progress import Progress
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import functional as TF

from ganbench.errors import DatasetError

# PIL modes that hold one channel and convert to "L" without losing information
GRAYSCALE_MODES = frozenset({"1", "L", "LA"})

# bounds the memory of resizing a whole dataset at once (values per chunk)
_RESIZE_CHUNK_VALUES = 1 << 24
DECODE_BATCH = 256


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 values [0, 255] -> float32 in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8, as an image file stores them."""
    return ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 RGB, as feature extractors take them (grey is repeated)."""
    images = to_uint8(images)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def fit_square(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize (..., C, H, W) so the shorter side is ``resolution`` (antialiased), then center-crop to a square."""
    height, width = images.shape[-2:]
    if height == width == resolution:
        return images
    if min(height, width) != resolution:
        images = TF.resize(images, [resolution], antialias=True)
    return TF.center_crop(images, [resolution, resolution])


def fit_square_all(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """``fit_square`` of a whole dataset (N, C, H, W), a chunk at a time to bound the memory of resizing."""
    if images.shape[-2:] == (resolution, resolution):
        return images
    chunk = max(1, _RESIZE_CHUNK_VALUES // images.shape[1:].numel())
    return torch.cat([fit_square(part, resolution) for part in images.split(chunk)])


class TensorImageDataset:
    """A labelled dataset held in memory as uint8 (N, C, H, W), resized once to ``resolution``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], resolution: int) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise TypeError(f"images must be a uint8 tensor (N, C, H, W), not {images.dtype} {tuple(images.shape)}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = fit_square_all(images, resolution)
        self.labels = labels.to(torch.int64)
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        self.channels = images.shape[1]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return to_signed_unit(self.images[index]), int(self.labels[index])


class IndexedDataset:
    """Items of a dataset picked by index, some mirrored left to right: repeats and flips without copying images."""

    def __init__(self, base: TensorImageDataset, indices: torch.Tensor, mirrored: torch.Tensor) -> None:
        if len(indices) != len(mirrored):
            raise ValueError(f"{len(indices)} indices but {len(mirrored)} mirror flags")
        self.base = base
        self.indices = indices.to(torch.int64)
        self.mirrored = mirrored.to(torch.bool)
        self.class_names = base.class_names
        self.num_classes = base.num_classes
        self.channels = base.channels

    @property
    def labels(self) -> torch.Tensor:
        return self.base.labels[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.base[int(self.indices[index])]
        return (image.flip(-1) if self.mirrored[index] else image), label


def open_image(path: Path) -> Image.Image:
    """Open an image file lazily (the header only), or fail with a DatasetError naming the file."""
    try:
        return Image.open(path)
    except (OSError, UnidentifiedImageError) as exc:
        raise _unreadable(path, exc) from exc


def load_image(path: Path, channels: int) -> torch.Tensor:
    """Decode an image file to uint8 (channels, H, W), converting its colour mode as needed."""
    with open_image(path) as image:
        try:
            converted = image.convert("L" if channels == 1 else "RGB")
        except (OSError, ValueError, SyntaxError) as exc:  # PIL's decoders raise all three on damaged data
            raise _unreadable(path, exc) from exc
    return TF.pil_to_tensor(converted)


def _unreadable(path: Path, exc: Exception) -> DatasetError:
    return DatasetError(
        f"The image {path} cannot be read ({exc}); it is corrupt, truncated or not an image. "
        "Remove or replace that file and run again."
    )


def is_grayscale(path: Path) -> bool:
    """Whether the image file stores one channel (reads the header only)."""
    with open_image(path) as image:
        return image.mode in GRAYSCALE_MODES


def detect_channels(paths: Sequence[Path], sample: int = 64) -> int:
    """1 if every image of an evenly spaced sample of ``paths`` is grayscale, else 3."""
    step = max(1, len(paths) // sample)
    return 1 if all(is_grayscale(path) for path in paths[::step]) else 3


class ImageFileDataset:
    """A labelled dataset of image files, decoded, converted and resized when an item is read."""

    def __init__(
        self, samples: Sequence[tuple[Path, int]], class_names: Sequence[str], channels: int, resolution: int
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {channels}")
        self.samples = list(samples)
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        self.channels = channels
        self.resolution = resolution

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor([label for _, label in self.samples], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def decoded(self, index: int) -> torch.Tensor:
        """Image ``index`` as uint8 (channels, resolution, resolution)."""
        return fit_square(load_image(self.samples[index][0], self.channels), self.resolution)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return to_signed_unit(self.decoded(index)), self.samples[index][1]


class _Decoding:
    """``dataset.decoded`` as a map-style dataset whose workers hand a DatasetError back instead of raising it,
    so the caller raises the error itself, without the worker's traceback folded into its message."""

    def __init__(self, dataset: ImageFileDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> torch.Tensor | DatasetError:
        try:
            return self.dataset.decoded(index)
        except DatasetError as error:
            return error


def decode_all(dataset: ImageFileDataset, workers: int | None = None) -> torch.Tensor:
    """Every image of ``dataset``, decoded and resized: uint8 (N, channels, resolution, resolution).

    Decodes in ``workers`` processes (default: one per available core; none for a split of one batch, where
    starting them costs more than they save), with a progress bar on stderr.
    """
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if len(dataset) > DECODE_BATCH else 0
    side = dataset.resolution
    images = torch.empty((len(dataset), dataset.channels, side, side), dtype=torch.uint8)
    loader = DataLoader(_Decoding(dataset), batch_size=DECODE_BATCH, num_workers=workers, collate_fn=list)
    with Progress(*Progress.get_default_columns(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"decoding {len(dataset):,} images at {side}px", total=len(dataset))
        start = 0
        for batch in loader:
            for item in batch:
                if isinstance(item, DatasetError):
                    raise item
            images[start : start + len(batch)] = torch.stack(batch)
            start += len(batch)
            progress.advance(task, len(batch))
    return images
