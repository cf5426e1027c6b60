"""``mnist``: the official MNIST handwritten digits (LeCun et al. 1998), read offline through torchvision.

The four official idx files, gzip-compressed or not, may lie in ``<root>/MNIST/raw``
(torchvision's own layout), ``<root>/mnist`` or ``<root>`` itself. Compressed files are
decompressed into a scratch folder under the cache, so the data folder may be read-only.
Images are 28x28 grayscale, resized to the requested resolution.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torchvision.datasets import MNIST
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.utils import extract_archive

from ganbench.errors import DatasetError
from ganbench.hookspecs import hookimpl
from ganbench.imagedata import TensorImageDataset
from ganbench.specs import DatasetRequest, DatasetSpec

SPLITS = ("train", "test")
OPTIONS = {"download": False}
# split -> (images, labels), the official names without ".gz"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def candidate_folders(base: Path) -> list[Path]:
    """Where the files may lie, in the order they are searched."""
    return [base / "MNIST" / "raw", base / "mnist", base]


def _find(folder: Path, name: str) -> Path | None:
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def locate(folders: list[Path], names: tuple[str, ...]) -> list[Path] | None:
    """The files ``names`` (each plain or gzipped) from the first folder that holds them all."""
    for folder in folders:
        paths = [path for name in names if (path := _find(folder, name)) is not None]
        if len(paths) == len(names):
            return paths
    return None


def _read(path: Path, reader: Callable[[str], torch.Tensor], scratch: Path) -> torch.Tensor:
    try:
        plain = extract_archive(path, scratch) if path.suffix == ".gz" else path
        return reader(str(plain))
    except (OSError, EOFError, AssertionError, ValueError, RuntimeError) as exc:  # torchvision asserts on a bad header
        raise DatasetError(
            f"{path} is not a readable MNIST idx file ({exc or type(exc).__name__}). "
            "Replace it with the official file of that name."
        ) from exc


def _download(base: Path) -> None:
    try:
        MNIST(base, download=True)
    except (OSError, RuntimeError) as exc:
        raise DatasetError(
            f"Downloading MNIST into {base / 'MNIST' / 'raw'} failed ({exc}). Check that this machine "
            "can reach the internet and that the folder is writable, or copy the files there."
        ) from exc


def _missing(split: str, base: Path, folders: list[Path], download: bool) -> DatasetError:
    official = ", ".join(f"{name}.gz" for names in FILES.values() for name in names)
    searched = ", ".join(str(folder) for folder in folders)
    raw = base / "MNIST" / "raw"
    fix = (
        f"torchvision's download into {raw} did not produce them: copy the files into one of those folders or "
        "point --data-dir at the folder that holds them"
        if download
        else "point --data-dir at the folder that holds them, copy them into one of those folders, or let torchvision "
        f"download them into {raw} with --dataset-option download=true (needs internet access)"
    )
    return DatasetError(
        f"MNIST's {split} files were not found. Expected the official files {official} "
        f"(gzip-compressed or not) in one of: {searched}. To fix this, {fix}."
    )


def build_mnist(request: DatasetRequest) -> TensorImageDataset:
    download = bool({**OPTIONS, **request.options}["download"])
    base = request.root if request.root is not None else request.cache_dir
    folders = candidate_folders(base)
    paths = locate(folders, FILES[request.split])
    if paths is None and download:
        _download(base)
        paths = locate(folders, FILES[request.split])
    if paths is None:
        raise _missing(request.split, base, folders, download)
    request.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=request.cache_dir, prefix="mnist-") as scratch:
        images = _read(paths[0], read_image_file, Path(scratch))
        labels = _read(paths[1], read_label_file, Path(scratch))
    return TensorImageDataset(images[:, None], labels, MNIST.classes, request.resolution)


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="mnist",
            description="MNIST handwritten digits (60k train / 10k test, 1 channel, 10 classes) "
            "from the official files "
            "in --data-dir; option download lets torchvision fetch them.",
            build=build_mnist,
            splits=SPLITS,
            options=OPTIONS,
        )
    ]
