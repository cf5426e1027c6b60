"""The idx files of the MNIST family (MNIST, Fashion-MNIST): finding them, reading them, saying what is missing.

The four files of a dataset have the same names in every member of the family; each may be
gzip-compressed or not. Compressed files are decompressed into a scratch folder under the
cache, so the data folder may be read-only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.utils import extract_archive

from ganbench.errors import DatasetError

# split -> (images, labels), the official names without ".gz"
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_folders(base: Path, torchvision_folder: str, short_name: str) -> list[Path]:
    """Where the files may lie, in the order they are searched: torchvision's layout, a named folder, ``base``."""
    return [base / torchvision_folder / "raw", base / short_name, base]


def _find(folder: Path, name: str) -> Path | None:
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def locate_idx_files(folders: list[Path], names: tuple[str, ...]) -> list[Path] | None:
    """The files ``names`` (each plain or gzipped) from the first folder that holds them all."""
    for folder in folders:
        paths = [path for name in names if (path := _find(folder, name)) is not None]
        if len(paths) == len(names):
            return paths
    return None


def _read(path: Path, reader: Callable[[str], torch.Tensor], scratch: Path, title: str) -> torch.Tensor:
    try:
        plain = extract_archive(path, scratch) if path.suffix == ".gz" else path
        return reader(str(plain))
    except (OSError, EOFError, AssertionError, ValueError, RuntimeError) as exc:  # torchvision asserts on a bad header
        raise DatasetError(
            f"{path} is not a readable {title} idx file ({exc or type(exc).__name__}). "
            "Replace it with the official file of that name."
        ) from exc


def read_idx_split(paths: list[Path], cache_dir: Path, title: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 1, 28, 28) and int64 labels from the images file and the labels file of a split."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="idx-") as scratch:
        images = _read(paths[0], read_image_file, Path(scratch), title)
        labels = _read(paths[1], read_label_file, Path(scratch), title)
    return images[:, None], labels


def idx_missing_error(title: str, split: str, folders: list[Path], fix: str) -> DatasetError:
    """The split's files are in none of ``folders``; ``fix`` completes "To fix this, ..."."""
    official = ", ".join(f"{name}.gz" for names in IDX_FILES.values() for name in names)
    where = f"in one of: {', '.join(str(folder) for folder in folders)}" if folders else "under --data-dir (not set)"
    return DatasetError(
        f"{title}'s {split} files were not found. Expected the official files {official} "
        f"(gzip-compressed or not) {where}. To fix this, {fix}."
    )
