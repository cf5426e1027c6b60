"""``mnist``: the official MNIST handwritten digits (LeCun et al. 1998), read offline through torchvision.

The four official idx files, gzip-compressed or not, may lie in ``<root>/MNIST/raw``
(torchvision's own layout), ``<root>/mnist`` or ``<root>`` itself. Compressed files are
decompressed into a scratch folder under the cache, so the data folder may be read-only.
Images are 28x28 grayscale, resized to the requested resolution.
"""

from __future__ import annotations

from pathlib import Path

from torchvision.datasets import MNIST

from ganbench import DatasetError, DatasetRequest, DatasetSpec, hookimpl
from ganbench.data import (
    IDX_FILES,
    TensorImageDataset,
    idx_folders,
    idx_missing_error,
    locate_idx_files,
    read_idx_split,
)

SPLITS = ("train", "test")
OPTIONS = {"download": False}


def _download(base: Path) -> None:
    try:
        MNIST(base, download=True)
    except (OSError, RuntimeError) as exc:
        raise DatasetError(
            f"Downloading MNIST into {base / 'MNIST' / 'raw'} failed ({exc}). Check that this machine "
            "can reach the internet and that the folder is writable, or copy the files there."
        ) from exc


def _missing(split: str, base: Path, folders: list[Path], download: bool) -> DatasetError:
    raw = base / "MNIST" / "raw"
    fix = (
        f"torchvision's download into {raw} did not produce them: copy the files into one of those folders or "
        "point --data-dir at the folder that holds them"
        if download
        else "point --data-dir at the folder that holds them, copy them into one of those folders, or let torchvision "
        f"download them into {raw} with --dataset-option download=true (needs internet access)"
    )
    return idx_missing_error("MNIST", split, folders, fix)


def build_mnist(request: DatasetRequest) -> TensorImageDataset:
    download = bool({**OPTIONS, **request.options}["download"])
    base = request.root if request.root is not None else request.cache_dir
    folders = idx_folders(base, "MNIST", "mnist")
    paths = locate_idx_files(folders, IDX_FILES[request.split])
    if paths is None and download:
        _download(base)
        paths = locate_idx_files(folders, IDX_FILES[request.split])
    if paths is None:
        raise _missing(request.split, base, folders, download)
    images, labels = read_idx_split(paths, request.cache_dir, "MNIST")
    return TensorImageDataset(images, labels, MNIST.classes, request.resolution)


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
