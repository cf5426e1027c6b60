"""``imagefolder``: your own images, one subfolder per class, read from --data-dir.

Two layouts are understood::

    <root>/<class>/<image>                     every image belongs to the train split
    <root>/{train,valid,test}/<class>/<image>  the split picks the folder

(the second is the layout of e.g. the 53-class playing-cards dataset). Class indices
follow the sorted class-folder names of all splits together, so a class has the same index
in every split. Images are resized so the shorter side matches the resolution, then
center-cropped. Option ``channels``: ``auto`` (1 when every sampled image is grayscale,
else 3), 1 or 3.

A split whose decoded images take at most ``CACHE_LIMIT`` bytes is decoded once, in parallel,
into the cache (``<results>/cache/data``), keyed by its files' paths, sizes and times, so a
later run starts in seconds and a changed folder is decoded again; a larger split is decoded
as it is read. Runs are filed under the experiment ``imagefolder:<folder name>``, and every
metric value names the folder's fingerprint (a hash of its image files' relative paths and
sizes, every split's: class indices depend on every split), so two folders are never ranked
together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

from ganbench import ConfigError, DatasetError, DatasetRequest, DatasetSpec, ImageDataset, hookimpl
from ganbench.data import (
    ImageFileDataset,
    TensorImageDataset,
    cached,
    decode_all,
    detect_channels,
    fingerprint,
    folder_files,
)

SPLITS = ("train", "valid", "test")
OPTIONS: dict[str, Any] = {"channels": "auto"}
LAYOUT = "<root>/<class>/<image>, or <root>/train/<class>/<image> with valid/ and test/ beside train/"
CACHE_LIMIT = 4 << 30  # bytes of decoded images; the cache is memory-mapped, so this bounds disk, not memory
CONVERSION = "1"  # bump when decoding changes, so cached images are decoded again


def _require_root(root: Path | None) -> Path:
    if root is None:
        raise DatasetError(
            f"The imagefolder dataset needs a folder of images: pass --data-dir with a folder laid out as {LAYOUT}."
        )
    if not root.is_dir():
        raise DatasetError(
            f"The image folder {root} does not exist or is not a folder. Pass --data-dir with a folder "
            f"laid out as {LAYOUT}."
        )
    return root


def split_folders(root: Path) -> dict[str, Path]:
    """split -> the folder holding its class folders."""
    present = {split: root / split for split in SPLITS if (root / split).is_dir()}
    return present or {"train": root}


def _class_folders(folder: Path) -> list[str]:
    try:
        return find_classes(folder)[0]
    except FileNotFoundError as exc:
        raise DatasetError(
            f"{folder} holds no class folders. imagefolder expects one subfolder per class, laid out as "
            f"{LAYOUT}; move the images into such folders (one folder, e.g. {folder / 'all'}, for "
            "unlabelled images)."
        ) from exc


def _missing_split(root: Path, split: str, folders: dict[str, Path]) -> DatasetError:
    if set(folders) == {"train"} and folders["train"] == root:
        return DatasetError(
            f"{root} has no train/valid/test folders, so all its images form the train split and "
            f"there is no {split!r} split. Use the train split (--reference-split train), or "
            f"arrange the images as {root / 'train'}/<class>/ and {root / split}/<class>/."
        )
    return DatasetError(
        f"{root} has the split folders {', '.join(folders)} but no {split!r}. Create {root / split} "
        f"with one subfolder per class, or use one of the splits it has."
    )


def parse_channels(value: Any, dataset: str = "imagefolder", option: str = "channels") -> int | None:
    """The channel count an option asks for; None for auto-detection."""
    if str(value).strip().lower() == "auto":
        return None
    if str(value).strip() in ("1", "3"):
        return int(value)
    raise ConfigError(
        f"The {dataset} option {option} = {value!r} is invalid. Pass --dataset-option {option}=auto "
        f"(1 when every image is grayscale, else 3), {option}=1 (convert to grayscale) or {option}=3 "
        "(convert to RGB)."
    )


def build_imagefolder(request: DatasetRequest) -> ImageFileDataset:
    options: Mapping[str, Any] = {**OPTIONS, **request.options}
    channels = parse_channels(options["channels"])
    root = _require_root(request.root)
    folders = split_folders(root)
    if request.split not in folders:
        raise _missing_split(root, request.split, folders)
    class_names = sorted({name for folder in folders.values() for name in _class_folders(folder)})
    index = {name: i for i, name in enumerate(class_names)}
    samples = {
        split: [
            (Path(path), label)
            for path, label in make_dataset(folder, index, extensions=IMG_EXTENSIONS, allow_empty=True)
        ]
        for split, folder in folders.items()
    }
    if not samples[request.split]:
        raise DatasetError(
            f"No images found in {folders[request.split]} ({len(class_names)} class folders searched). "
            f"imagefolder reads files ending in {', '.join(IMG_EXTENSIONS)} (any case); add such images "
            "to the class folders or point --data-dir at the folder that holds them."
        )
    if channels is None:
        # every split is sampled, so all splits agree on the channel count
        channels = detect_channels([path for split_samples in samples.values() for path, _ in split_samples])
    files = ImageFileDataset(samples[request.split], class_names, channels, request.resolution)
    return in_cache(files, request, root, folders[request.split])


def in_cache(files: ImageFileDataset, request: DatasetRequest, root: Path, folder: Path) -> ImageDataset:
    """``files`` decoded once into the cache and read from it, unless its decoded images exceed CACHE_LIMIT."""
    if len(files) * files.channels * request.resolution**2 > CACHE_LIMIT:
        return files
    key = {
        "conversion": CONVERSION,
        "root": str(root.resolve()),
        "split": request.split,
        "resolution": request.resolution,
        "channels": files.channels,
        "classes": files.class_names,
        "files": fingerprint(folder_files(folder, IMG_EXTENSIONS), with_times=True),
    }
    name = f"imagefolder-{root.resolve().name}-{request.split}-{request.resolution}px"
    tensors = cached(request.cache_dir, name, key, lambda: {"images": decode_all(files), "labels": files.labels})
    return TensorImageDataset(tensors["images"], tensors["labels"], files.class_names, request.resolution)


def folder_fingerprint(request: DatasetRequest) -> str:
    """The fingerprint of every image file under --data-dir (see ``ganbench.data.files.fingerprint``)."""
    return fingerprint(folder_files(_require_root(request.root), IMG_EXTENSIONS))


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="imagefolder",
            description="Your own images in --data-dir, one subfolder per class (optionally under train/valid/test); "
            "option channels: auto, 1 or 3.",
            build=build_imagefolder,
            splits=SPLITS,
            options=OPTIONS,
            fingerprint=folder_fingerprint,
            user_folder=True,
        )
    ]
