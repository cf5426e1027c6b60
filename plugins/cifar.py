"""``cifar10`` and ``cifar100``: the CIFAR datasets (Krizhevsky 2009), read offline through torchvision.

--data-dir holds the folder that the official python archive unpacks to, as torchvision
keeps it: ``cifar-10-batches-py`` (``data_batch_1`` .. ``data_batch_5``, ``test_batch``,
``batches.meta``) or ``cifar-100-python`` (``train``, ``test``, ``meta``), either directly or
under ``<root>/cifar10`` / ``<root>/cifar100``. Every file is checked against its official MD5
sum before it is unpickled. Images are 32x32 RGB; ``cifar100`` has the 100 fine labels. The
common dataset options apply (``ganbench.data.options``).
"""

from __future__ import annotations

import torch
from torchvision.datasets import CIFAR10, CIFAR100

from ganbench import DatasetRequest, DatasetSpec, ImageDataset, hookimpl
from ganbench.data import (
    LABELLED_OPTIONS,
    TRAINING_ONLY_OPTIONS,
    build_dataset,
    center_crop,
    describe_options,
    find_folder,
    parse_options,
    verify_checksums,
)

SPLITS = ("train", "test")
PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"


def official_checksums(source: type[CIFAR10]) -> dict[str, str]:
    """Every file torchvision's class reads (it checks all of them whatever the split) -> its MD5 sum."""
    files = {name: md5 for name, md5 in source.train_list + source.test_list}
    return {**files, source.meta["filename"]: source.meta["md5"]}


def how_to_get(source: type[CIFAR10]) -> str:
    return (
        f"Download {source.url} (the python version, from {PAGE}) and extract it into --data-dir, which gives "
        f"{source.base_folder}/; or, on a machine with internet access, torchvision.datasets.{source.__name__}"
        "(FOLDER, download=True) writes that folder into FOLDER. ganbench never downloads it."
    )


def load(name: str, source: type[CIFAR10], request: DatasetRequest) -> ImageDataset:
    """The split of the CIFAR dataset that torchvision's class ``source`` reads."""
    options = parse_options(name, {**LABELLED_OPTIONS, **request.options})
    checksums = official_checksums(source)
    help_text = how_to_get(source)
    folder = find_folder(name, request.root, source.base_folder, list(checksums), help_text)
    # torchvision checks the sums again, but its error names no file
    verify_checksums(name, folder, checksums, help_text)
    data = source(folder.parent, train=request.split == "train", download=False)
    images = center_crop(name, torch.from_numpy(data.data).permute(0, 3, 1, 2), options.center_crop)
    labels = torch.tensor(data.targets, dtype=torch.int64)
    return build_dataset(name, images, labels, data.classes, request.split, request.resolution, options)


def build_cifar10(request: DatasetRequest) -> ImageDataset:
    return load("cifar10", CIFAR10, request)


def build_cifar100(request: DatasetRequest) -> ImageDataset:
    return load("cifar100", CIFAR100, request)


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="cifar10",
            description=f"CIFAR-10 (50k train / 10k test, 32x32 RGB, 10 classes) from {CIFAR10.base_folder} in "
            f"--data-dir; {describe_options(LABELLED_OPTIONS)}.",
            build=build_cifar10,
            splits=SPLITS,
            options=LABELLED_OPTIONS,
            training_only_options=TRAINING_ONLY_OPTIONS,
        ),
        DatasetSpec(
            name="cifar100",
            description=f"CIFAR-100 (50k train / 10k test, 32x32 RGB, 100 fine classes) from {CIFAR100.base_folder} "
            f"in --data-dir; {describe_options(LABELLED_OPTIONS)}.",
            build=build_cifar100,
            splits=SPLITS,
            options=LABELLED_OPTIONS,
            training_only_options=TRAINING_ONLY_OPTIONS,
        ),
    ]
