"""stl10 reads small files in the official binary format: column-major 3x96x96 bytes per image, labels from 1.

The fixtures record their own files' MD5 sums in torchvision's STL10 class, where the plugin
reads the official ones, so the check still runs on real files.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import STL10

import ganbench_plugins.stl10 as stl10
from ganbench.data.options import LABELLED_OPTIONS
from ganbench.errors import ConfigError, DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.stl10 import build_stl10

NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
SIZES = {"train": 10, "test": 4, "unlabeled": 3}
FIRST_ID = {"train": 0, "test": 100, "unlabeled": 200}


def _request(root: Path | None, cache: Path, split: str = "train", resolution: int = 32, **options) -> DatasetRequest:
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _images(first_id: int, count: int) -> bytes:
    """In (row, column) terms, red = row, green = column, blue = the image's id; stored column-major."""
    rows, columns = np.meshgrid(np.arange(96), np.arange(96), indexing="ij")
    images = np.empty((count, 3, 96, 96), dtype=np.uint8)
    for i in range(count):
        images[i] = np.stack([rows, columns, np.full((96, 96), first_id + i)])
    return images.transpose(0, 1, 3, 2).tobytes()


def write_stl10(root: Path, monkeypatch: pytest.MonkeyPatch, splits: tuple[str, ...] = tuple(SIZES)) -> Path:
    folder = root / STL10.base_folder
    folder.mkdir(parents=True)
    for split in splits:
        files = stl10.FILES[split]
        (folder / files[0]).write_bytes(_images(FIRST_ID[split], SIZES[split]))
        if len(files) == 2:
            (folder / files[1]).write_bytes(bytes(1 + (FIRST_ID[split] + i) % 10 for i in range(SIZES[split])))
    (folder / STL10.class_names_file).write_text("\n".join(NAMES) + "\n")
    _trust(monkeypatch, folder)
    return root


def _trust(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Record the fixture's MD5 sums as the official ones (files absent from the fixture keep theirs)."""

    def md5(name: str, official: str) -> str:
        path = folder / name
        return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else official

    monkeypatch.setattr(STL10, "train_list", [[name, md5(name, sum_)] for name, sum_ in STL10.train_list])
    monkeypatch.setattr(STL10, "test_list", [[name, md5(name, sum_)] for name, sum_ in STL10.test_list])


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_stl10(tmp_path / "data", monkeypatch)


def _ids(dataset: ImageDataset) -> list[int]:
    return [round((dataset[i][0][2, 0, 0].item() + 1) * 127.5) for i in range(len(dataset))]


def _never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path: Path) -> torch.Tensor:
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(stl10, "read_images", fail)


def test_the_registry_finds_it_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "stl10")
    assert spec.build is build_stl10
    assert spec.needs_files and spec.labelled and spec.options == LABELLED_OPTIONS
    assert spec.splits == ("train", "test", "unlabeled")


def test_the_labelled_splits_have_labels_from_zero_and_the_class_names(data: Path, tmp_path: Path) -> None:
    train = build_stl10(_request(data, tmp_path / "cache"))
    test = build_stl10(_request(data, tmp_path / "cache", split="test"))
    assert (len(train), len(test)) == (SIZES["train"], SIZES["test"])
    assert (train.channels, train.num_classes, train.class_names) == (3, 10, NAMES)
    assert [train[i][1] for i in range(len(train))] == [i % 10 for i in range(SIZES["train"])]
    assert _ids(train) == list(range(SIZES["train"])) and _ids(test) == list(range(100, 100 + SIZES["test"]))


def test_column_major_pixels_come_out_upright(data: Path, tmp_path: Path) -> None:
    image = build_stl10(_request(data, tmp_path / "cache", resolution=96)).images[0]
    assert image.shape == (3, 96, 96)
    assert image[0, :, 7].tolist() == list(range(96))  # red grows down a column
    assert image[1, 7].tolist() == list(range(96))  # green grows along a row


def test_the_unlabeled_split_is_unlabelled(data: Path, tmp_path: Path) -> None:
    dataset = build_stl10(_request(data, tmp_path / "cache", split="unlabeled", resolution=48))
    assert (len(dataset), dataset.num_classes, dataset.class_names) == (SIZES["unlabeled"], 0, [])
    assert dataset[0][0].shape == (3, 48, 48) and dataset[0][1] == -1
    assert _ids(dataset) == list(range(200, 200 + SIZES["unlabeled"]))
    with pytest.raises(ConfigError, match="this split has no labels"):
        build_stl10(_request(data, tmp_path / "cache", split="unlabeled", classes="cat"))


def test_a_split_needs_only_its_own_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_stl10(tmp_path / "data", monkeypatch, splits=("test",))
    assert len(build_stl10(_request(root, tmp_path / "cache", split="test"))) == SIZES["test"]


def test_the_second_load_reads_the_cache(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_stl10(_request(data, tmp_path / "cache", split="test"))
    _never_read(monkeypatch)
    second = build_stl10(_request(data, tmp_path / "cache", split="test"))
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert [path.name.split("-")[:3] for path in (tmp_path / "cache").iterdir()] == [["stl10", "test", "32px"]]
    with pytest.raises(AssertionError, match="was read again"):  # another resolution is converted anew
        build_stl10(_request(data, tmp_path / "cache", split="test", resolution=64))


def test_a_changed_source_file_is_converted_again(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_stl10(_request(data, tmp_path / "cache", split="test"))
    folder = data / STL10.base_folder
    changed = folder / "test_X.bin"
    modified = changed.stat().st_mtime_ns
    changed.write_bytes(_images(150, SIZES["test"]))  # same size: only the modification time tells
    os.utime(changed, ns=(modified + 10**9, modified + 10**9))
    _trust(monkeypatch, folder)
    assert _ids(build_stl10(_request(data, tmp_path / "cache", split="test")))[0] == 150


def test_missing_files_are_named_with_the_folder_and_where_to_get_them(data: Path, tmp_path: Path) -> None:
    folder = data / STL10.base_folder
    (folder / "train_y.bin").unlink()
    with pytest.raises(DatasetError) as error:
        build_stl10(_request(data, tmp_path / "cache"))
    assert f"{folder} lacks train_y.bin." in str(error.value) and STL10.url in str(error.value)


def test_a_file_that_is_not_the_official_one_is_named(data: Path, tmp_path: Path) -> None:
    (data / STL10.base_folder / "test_y.bin").write_bytes(bytes([1] * SIZES["test"]))
    with pytest.raises(DatasetError, match=r"test_y.bin in .* differ from the official files \(MD5"):
        build_stl10(_request(data, tmp_path / "cache", split="test"))
    assert not any((tmp_path / "cache").glob("*.pt"))


def test_the_options_apply_to_the_cached_images(data: Path, tmp_path: Path) -> None:
    subset = build_stl10(_request(data, tmp_path / "cache", classes="monkey,bird"))
    assert subset.class_names == ["bird", "monkey"]
    assert [subset[i][1] for i in range(len(subset))] == [0, 1]
    cropped = build_stl10(_request(data, tmp_path / "cache", center_crop=32, resolution=32)).images[0]
    assert cropped[0, :, 0].tolist() == list(range(32, 64))
    flipped = build_stl10(_request(data, tmp_path / "cache", flip=True))
    assert len(flipped) == 2 * SIZES["train"]
    assert torch.equal(flipped[SIZES["train"]][0], flipped[0][0].flip(-1))
