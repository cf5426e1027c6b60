"""``celeba``: CelebA's aligned face images (Liu et al. 2015), unlabelled, read offline.

--data-dir holds the folder ``celeba`` as torchvision keeps it: the JPEGs of
``img_align_celeba.zip`` extracted into ``celeba/img_align_celeba/`` and the official split file
``celeba/list_eval_partition.txt`` (checked against its MD5 sum; torchvision's other
annotation files are not needed). Splits follow that file: train 162,770, valid 19,867, test
19,962 images. Each image is decoded, center-cropped (option ``center_crop``, 178 source pixels
by default: the whole 178x218 face crop's width, the usual GAN preprocessing) and resized to
the resolution; the first load of a split converts it once and keeps the result under the
cache, so later loads read one file. The common label-free options apply
(``ganbench.data.options``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torchvision.datasets import CelebA

from ganbench import DatasetError, DatasetRequest, DatasetSpec, ImageDataset, hookimpl
from ganbench.data import (
    TRAINING_ONLY_OPTIONS,
    UNLABELLED_OPTIONS,
    build_dataset,
    cached,
    center_crop,
    describe_options,
    find_folder,
    fit_square,
    load_image,
    parse_options,
    source_stamp,
    verify_checksums,
)

NAME = "celeba"
SPLITS = ("train", "valid", "test")
IMAGES = "img_align_celeba"
PARTITION = "list_eval_partition.txt"
OPTIONS: dict[str, Any] = {**UNLABELLED_OPTIONS, "center_crop": 178}
CONVERSION = "1"  # bump when the conversion changes, so cached tensors are rebuilt
PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
HOW_TO_GET = (
    f"From the official page {PAGE} (its Google Drive folder) download Img/img_align_celeba.zip and "
    f"Eval/{PARTITION} into a folder {CelebA.base_folder} under --data-dir and extract the zip there; or, on a "
    "machine with internet access, torchvision.datasets.CelebA(FOLDER, download=True) writes that folder into "
    "FOLDER (it needs the gdown package). ganbench never downloads it."
)


def official_partition_md5() -> str:
    return next(md5 for _, md5, filename in CelebA.file_list if filename == PARTITION)


def split_files(partition: Path, split: str) -> list[str]:
    """The image file names of ``split``, in the order of the partition file (lines ``000001.jpg 0``)."""
    code = str(SPLITS.index(split))
    rows = (line.split() for line in partition.read_text().splitlines() if line.strip())
    return [name for name, part in rows if part == code]


def decode(path: Path) -> torch.Tensor:
    """uint8 RGB (3, H, W) of an image file."""
    try:
        return load_image(path, 3)
    except DatasetError as exc:
        raise DatasetError(
            f"The image {path}, listed in {PARTITION}, cannot be read ({exc.__cause__}): {IMAGES} is incomplete or "
            f"damaged. Extract img_align_celeba.zip into {path.parent.parent} again. {HOW_TO_GET}"
        ) from exc


def _convert(folder: Path, split: str, resolution: int, crop: int | None) -> dict[str, torch.Tensor]:
    verify_checksums(NAME, folder, {PARTITION: official_partition_md5()}, HOW_TO_GET)
    names = split_files(folder / PARTITION, split)
    images = torch.empty((len(names), 3, resolution, resolution), dtype=torch.uint8)
    for index, name in enumerate(names):
        images[index] = fit_square(center_crop(NAME, decode(folder / IMAGES / name), crop), resolution)
    return {"images": images}


def build_celeba(request: DatasetRequest) -> ImageDataset:
    options = parse_options(NAME, {**OPTIONS, **request.options})
    folder = find_folder(NAME, request.root, CelebA.base_folder, (IMAGES, PARTITION), HOW_TO_GET)
    key = {
        "conversion": CONVERSION,
        "split": request.split,
        "resolution": request.resolution,
        "center_crop": options.center_crop,
        "sources": source_stamp([folder / PARTITION, folder / IMAGES]),
    }
    name = f"{NAME}-{request.split}-{request.resolution}px"
    images = cached(
        request.cache_dir, name, key, lambda: _convert(folder, request.split, request.resolution, options.center_crop)
    )["images"]
    unlabelled = torch.full((len(images),), -1)
    return build_dataset(NAME, images, unlabelled, [], request.split, request.resolution, options)


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name=NAME,
            description=f"CelebA aligned faces, unlabelled (162,770 train / 19,867 valid / 19,962 test) from "
            f"{CelebA.base_folder} in --data-dir, converted once into the cache; {describe_options(OPTIONS)}.",
            build=build_celeba,
            splits=SPLITS,
            labelled=False,
            options=OPTIONS,
            training_only_options=TRAINING_ONLY_OPTIONS,
        )
    ]
