"""``paired-folder``: your own labelled images, each with a condition image (a sketch), read from --data-dir.

Layout: a tree of images with one subfolder per class, and beside it a tree of sketches in the
same folders under the same names::

    <root>/images/<class>/<name>.<ext>          every pair belongs to the train split
    <root>/sketches/<class>/<name>.<ext>

    <root>/{train,valid,test}/images/<class>/<name>.<ext>      the split picks the folder
    <root>/{train,valid,test}/sketches/<class>/<name>.<ext>

An image and a sketch are a pair when their paths relative to ``images/`` and ``sketches/``
match without the extension (``images/nevus/ISIC_0000.jpg`` and ``sketches/nevus/ISIC_0000.png``);
every image needs a sketch and every sketch an image, else the run stops listing the
unmatched files. Class indices follow the sorted class-folder names of all splits together.
Images and sketches are resized as ``imagefolder``'s images (shorter side, then a centre
crop). Options ``channels`` and ``sketch_channels``: ``auto`` (1 when every sampled file is
grayscale, else 3), 1 or 3. ``--pairing unpaired`` gives each image another image's sketch of
the same class (ganbench's core does that, as for derived sketches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, has_file_allowed_extension

from ganbench import DatasetError, DatasetRequest, DatasetSpec, hookimpl
from ganbench.data import ImageFileDataset, detect_channels, fit_square, load_image, to_signed_unit
from ganbench_plugins.imagefolder import SPLITS, folder_fingerprint, parse_channels, split_folders

NAME = "paired-folder"
IMAGES, SKETCHES = "images", "sketches"
OPTIONS: dict[str, Any] = {"channels": "auto", "sketch_channels": "auto"}
LAYOUT = (
    "<root>/images/<class>/<file> with <root>/sketches/<class>/<file> (the same relative paths, any image "
    "extension), or the same under <root>/train/, <root>/valid/ and <root>/test/"
)
SHOWN = 5  # unmatched files named in an error; the rest are counted


class PairedImageFiles(ImageFileDataset):
    """Labelled image files, each with the sketch file at the same index as its condition image."""

    paired = True

    def __init__(
        self,
        samples: Sequence[tuple[Path, int]],
        sketches: Sequence[Path],
        class_names: Sequence[str],
        channels: int,
        condition_channels: int,
        resolution: int,
    ) -> None:
        super().__init__(samples, class_names, channels, resolution)
        if len(sketches) != len(self.samples):
            raise ValueError(f"{len(self.samples)} images but {len(sketches)} sketches")
        self.sketches = list(sketches)
        self.condition_channels = condition_channels

    def condition(self, index: int) -> torch.Tensor:
        sketch = load_image(self.sketches[index], self.condition_channels)
        return to_signed_unit(fit_square(sketch, self.resolution))


def _require_root(root: Path | None) -> Path:
    if root is None or not root.is_dir():
        given = "no --data-dir was given" if root is None else f"{root} does not exist or is not a folder"
        raise DatasetError(
            f"The {NAME} dataset reads a folder of images and sketches, and {given}. Lay it out as "
            f"{LAYOUT}, and pass it as --data-dir."
        )
    return root


def _trees(folder: Path) -> tuple[Path, Path]:
    images, sketches = folder / IMAGES, folder / SKETCHES
    missing = [path for path in (images, sketches) if not path.is_dir()]
    if missing:
        raise DatasetError(
            f"{folder} has no {' and no '.join(str(path.name) + '/' for path in missing)} folder. The {NAME} dataset "
            f"expects {LAYOUT}."
        )
    return images, sketches


def _files(tree: Path) -> dict[str, Path]:
    """Every image file under ``tree``, by its path relative to ``tree`` without the extension."""
    files: dict[str, Path] = {}
    clashes = []
    for path in sorted(
        p for p in tree.rglob("*") if p.is_file() and has_file_allowed_extension(p.name, IMG_EXTENSIONS)
    ):
        key = path.relative_to(tree).with_suffix("").as_posix()
        if key in files:
            clashes.append(f"{files[key].relative_to(tree)} and {path.relative_to(tree)}")
        files[key] = path
    if clashes:
        raise DatasetError(
            f"In {tree}, files differ only in their extension, so which one pairs is unclear: {_listed(clashes)}. "
            "Keep one file per name."
        )
    return files


def _listed(items: Sequence[str]) -> str:
    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _match(images: Path, sketches: Path) -> list[tuple[Path, Path]]:
    """(image, sketch) pairs in sorted order; unmatched files on either side are an error that names them."""
    image_files, sketch_files = _files(images), _files(sketches)
    no_sketch = [image_files[key].relative_to(images).as_posix() for key in image_files if key not in sketch_files]
    no_image = [sketch_files[key].relative_to(sketches).as_posix() for key in sketch_files if key not in image_files]
    loose = [key for key in image_files if "/" not in key]
    if no_sketch or no_image or loose:
        problems = []
        if loose:
            problems.append(f"{len(loose)} image(s) in {images} lie outside a class folder: {_listed(loose)}")
        if no_sketch:
            problems.append(f"{len(no_sketch)} image(s) in {images} have no sketch: {_listed(no_sketch)}")
        if no_image:
            problems.append(f"{len(no_image)} sketch(es) in {sketches} match no image: {_listed(no_image)}")
        raise DatasetError(
            "The images and sketches do not pair up. "
            + "; ".join(problems)
            + f". Give every image a sketch at the same path under {sketches.name}/ (any image extension) and every "
            "sketch an image, or remove the unmatched files."
        )
    return [(image_files[key], sketch_files[key]) for key in image_files]


def _every_file(trees: Mapping[str, tuple[Path, Path]], side: int) -> list[Path]:
    """The image files (side 0) or sketch files (side 1) of every split."""
    return [path for pair in trees.values() for path in _files(pair[side]).values()]


def _channels(option: Any, name: str, paths: list[Path]) -> int:
    channels = parse_channels(option, NAME, name)
    return detect_channels(paths) if channels is None else channels


def build_paired_folder(request: DatasetRequest) -> PairedImageFiles:
    options: Mapping[str, Any] = {**OPTIONS, **request.options}
    root = _require_root(request.root)
    folders = split_folders(root)
    if request.split not in folders:
        raise DatasetError(
            f"{root} has no {request.split!r} split: it has {', '.join(folders)}. Create {root / request.split} laid "
            f"out as {LAYOUT}, or use one of the splits it has (e.g. --reference-split {next(iter(folders))})."
        )
    trees = {split: _trees(folder) for split, folder in folders.items()}
    class_names = sorted({name for images, _ in trees.values() for name in find_classes(images)[0]})
    pairs = _match(*trees[request.split])
    if not pairs:
        raise DatasetError(f"No images found in {trees[request.split][0]}. Lay the folder out as {LAYOUT}.")
    index = {name: i for i, name in enumerate(class_names)}
    images_root = trees[request.split][0]
    samples = [(image, index[image.relative_to(images_root).parts[0]]) for image, _ in pairs]
    sketches = [sketch for _, sketch in pairs]
    return PairedImageFiles(
        samples,
        sketches,
        class_names,
        # every split is sampled, so all splits agree on the channel counts
        _channels(options["channels"], "channels", _every_file(trees, 0)),
        _channels(options["sketch_channels"], "sketch_channels", _every_file(trees, 1)),
        request.resolution,
    )


@hookimpl
def ganbench_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name=NAME,
            description="Your own labelled images with a sketch each, in --data-dir as images/<class>/ and "
            "sketches/<class>/ (optionally under train/valid/test); options channels, sketch_channels.",
            build=build_paired_folder,
            splits=SPLITS,
            options=OPTIONS,
            condition_images=True,
            fingerprint=folder_fingerprint,
            user_folder=True,
        )
    ]
