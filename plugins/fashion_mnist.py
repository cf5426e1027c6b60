"""``fashion-mnist``: Zalando's Fashion-MNIST (Xiao et al. 2017), read offline in MNIST's idx format.

The four official idx files, gzip-compressed or not, may lie in ``<root>/FashionMNIST/raw``
(torchvision's own layout), ``<root>/fashion-mnist`` or ``<root>`` itself. Images are 28x28
grayscale, 10 classes of clothing; the common dataset options apply (``ganbench.data.options``).
"""

from __future__ import annotations

from torchvision.datasets import FashionMNIST

from ganbench import DatasetRequest, DatasetSpec, ImageDataset, hookimpl
from ganbench.data import (
    IDX_FILES,
    LABELLED_OPTIONS,
    TRAINING_ONLY_OPTIONS,
    build_dataset,
    center_crop,
    describe_options,
    idx_folders,
    idx_missing_error,
    locate_idx_files,
    parse_options,
    read_idx_split,
)

NAME = "fashion-mnist"
TITLE = "Fashion-MNIST"
SPLITS = ("train", "test")
HOW_TO_GET = (
    "point --data-dir at the folder that holds them, or at one with them in FashionMNIST/raw; the files are at "
    f"{FashionMNIST.mirrors[0]} (torchvision's mirror, e.g. {FashionMNIST.mirrors[0]}{IDX_FILES['train'][0]}.gz) "
    "and in data/fashion of https://github.com/zalandoresearch/fashion-mnist. ganbench does not download them"
)


def build_fashion_mnist(request: DatasetRequest) -> ImageDataset:
    options = parse_options(NAME, {**LABELLED_OPTIONS, **request.options})
    folders = [] if request.root is None else idx_folders(request.root, "FashionMNIST", NAME)
    paths = locate_idx_files(folders, IDX_FILES[request.split])
    if paths is None:
        raise idx_missing_error(TITLE, request.split, folders, HOW_TO_GET)
    images, labels = read_idx_split(paths, request.cache_dir, TITLE)
    images = center_crop(NAME, images, options.center_crop)
    return build_dataset(NAME, images, labels, FashionMNIST.classes, request.split, request.resolution, options)


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name=NAME,
            description=f"Fashion-MNIST clothing (60k train / 10k test, 1 channel, 10 classes) from the official "
            f"idx files in --data-dir; {describe_options(LABELLED_OPTIONS)}.",
            build=build_fashion_mnist,
            splits=SPLITS,
            options=LABELLED_OPTIONS,
            training_only_options=TRAINING_ONLY_OPTIONS,
        )
    ]
