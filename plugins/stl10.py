"""``stl10``: the STL-10 dataset (Coates et al. 2011), read offline from its official binary files.

--data-dir holds ``stl10_binary`` as the official archive unpacks it (torchvision's layout),
directly or under ``<root>/stl10``. A split needs only its own files: ``train_X.bin`` and
``train_y.bin`` (5k labelled images), ``test_X.bin`` and ``test_y.bin`` (8k), or
``unlabeled_X.bin`` (100k, no labels), plus ``class_names.txt`` for the labelled splits.
torchvision's STL10 class is not used to read them because it insists on all five files,
2.7 GB of them unlabelled, and checks their sums on every load; this plugin checks a split's
files against torchvision's recorded MD5 sums once, when it converts them, and keeps the
resized images under the cache. Images are 96x96 RGB, 10 classes. The common dataset
options apply (``ganbench.data.options``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import STL10

from ganbench import DatasetRequest, DatasetSpec, ImageDataset, hookimpl
from ganbench.data import (
    LABELLED_OPTIONS,
    TRAINING_ONLY_OPTIONS,
    build_dataset,
    cached,
    center_crop,
    describe_options,
    find_folder,
    fit_square_all,
    parse_options,
    source_stamp,
    verify_checksums,
)

NAME = "stl10"
SPLITS = ("train", "test", "unlabeled")
# split -> (images, labels); the unlabeled split has no labels file
FILES = {
    "train": ("train_X.bin", "train_y.bin"),
    "test": ("test_X.bin", "test_y.bin"),
    "unlabeled": ("unlabeled_X.bin",),
}
SIDE = 96
CONVERSION = "1"  # bump when the conversion changes, so cached tensors are rebuilt
HOW_TO_GET = (
    f"Download {STL10.url} (from https://cs.stanford.edu/~acoates/stl10/) and extract it into --data-dir, which "
    f"gives {STL10.base_folder}/; or, on a machine with internet access, torchvision.datasets.STL10(FOLDER, "
    "download=True) writes that folder into FOLDER. ganbench never downloads it."
)


def official_checksums(names: tuple[str, ...]) -> dict[str, str]:
    recorded = {name: md5 for name, md5 in STL10.train_list + STL10.test_list}
    return {name: recorded[name] for name in names}


def read_images(path: Path) -> torch.Tensor:
    """uint8 (N, 3, 96, 96) from a binary file of column-major images."""
    images = torch.from_numpy(np.fromfile(path, dtype=np.uint8)).reshape(-1, 3, SIDE, SIDE)
    return images.transpose(2, 3)


def read_labels(path: Path) -> torch.Tensor:
    """Class indices from 0, from a file of one byte per image counting from 1."""
    return torch.from_numpy(np.fromfile(path, dtype=np.uint8)).to(torch.int64) - 1


def _convert(folder: Path, split: str, resolution: int, crop: int | None) -> dict[str, torch.Tensor]:
    files = FILES[split]
    verify_checksums(NAME, folder, official_checksums(files), HOW_TO_GET)
    images = read_images(folder / files[0])
    labels = read_labels(folder / files[1]) if len(files) == 2 else torch.full((len(images),), -1)
    return {"images": fit_square_all(center_crop(NAME, images, crop), resolution), "labels": labels}


def build_stl10(request: DatasetRequest) -> ImageDataset:
    options = parse_options(NAME, {**LABELLED_OPTIONS, **request.options})
    labelled = len(FILES[request.split]) == 2
    needed = FILES[request.split] + ((STL10.class_names_file,) if labelled else ())
    folder = find_folder(NAME, request.root, STL10.base_folder, needed, HOW_TO_GET)
    class_names = (folder / STL10.class_names_file).read_text().split() if labelled else []
    key = {
        "conversion": CONVERSION,
        "split": request.split,
        "resolution": request.resolution,
        "center_crop": options.center_crop,
        "sources": source_stamp([folder / name for name in FILES[request.split]]),
    }
    name = f"{NAME}-{request.split}-{request.resolution}px"
    tensors = cached(
        request.cache_dir, name, key, lambda: _convert(folder, request.split, request.resolution, options.center_crop)
    )
    return build_dataset(
        NAME, tensors["images"], tensors["labels"], class_names, request.split, request.resolution, options
    )


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name=NAME,
            description=f"STL-10 (5k train / 8k test labelled, 100k unlabeled; 96x96 RGB, 10 classes) from "
            f"{STL10.base_folder} in --data-dir; {describe_options(LABELLED_OPTIONS)}.",
            build=build_stl10,
            splits=SPLITS,
            options=LABELLED_OPTIONS,
            training_only_options=TRAINING_ONLY_OPTIONS,
        )
    ]
