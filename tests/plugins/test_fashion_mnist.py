"""fashion-mnist reads small idx files in the official format (big-endian header, then bytes), plain or gzipped."""

import gzip
import struct
from pathlib import Path

import pytest
import torch
from torchvision.datasets import FashionMNIST

from ganbench.data import IDX_FILES
from ganbench.data.options import LABELLED_OPTIONS
from ganbench.errors import DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.fashion_mnist import build_fashion_mnist

SIZES = {"train": 12, "test": 5}
FIRST_ID = {"train": 0, "test": 100}


def _request(root: Path | None, cache: Path, split: str = "train", resolution: int = 28, **options) -> DatasetRequest:
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _images_file(first_id: int, count: int) -> bytes:
    """Image i is filled with first_id + i but for a bright top-left pixel, to check the orientation."""
    images = bytearray()
    for i in range(count):
        pixels = bytearray([first_id + i]) * (28 * 28)
        pixels[0] = 255
        images += pixels
    return struct.pack(">IIII", 0x803, count, 28, 28) + bytes(images)


def _labels_file(first_id: int, count: int) -> bytes:
    return struct.pack(">II", 0x801, count) + bytes((first_id + i) % 10 for i in range(count))


def write_fashion(folder: Path, compressed: bool = True, splits: tuple[str, ...] = ("train", "test")) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        images, labels = IDX_FILES[split]
        for name, content in (
            (images, _images_file(FIRST_ID[split], SIZES[split])),
            (labels, _labels_file(FIRST_ID[split], SIZES[split])),
        ):
            if compressed:
                (folder / f"{name}.gz").write_bytes(gzip.compress(content))
            else:
                (folder / name).write_bytes(content)


def _ids(dataset: ImageDataset) -> list[int]:
    return [round((dataset[i][0][0, 5, 5].item() + 1) * 127.5) for i in range(len(dataset))]


def test_the_registry_finds_it_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "fashion-mnist")
    assert spec.build is build_fashion_mnist
    assert spec.needs_files and spec.labelled and spec.options == LABELLED_OPTIONS


def test_both_splits_are_served_grayscale_with_the_clothing_classes(tmp_path: Path) -> None:
    write_fashion(tmp_path / "data" / "FashionMNIST" / "raw")
    train = build_fashion_mnist(_request(tmp_path / "data", tmp_path / "cache"))
    test = build_fashion_mnist(_request(tmp_path / "data", tmp_path / "cache", split="test", resolution=32))
    assert (len(train), len(test)) == (SIZES["train"], SIZES["test"])
    assert (train.channels, train.num_classes, train.class_names) == (1, 10, FashionMNIST.classes)
    assert train[0][0].shape == (1, 28, 28) and test[0][0].shape == (1, 32, 32)
    assert _ids(train) == list(range(SIZES["train"])) and _ids(test) == list(range(100, 100 + SIZES["test"]))
    assert [train[i][1] for i in range(len(train))] == [i % 10 for i in range(SIZES["train"])]
    assert train[0][0][0, 0, 0] == 1.0 and train[0][0][0, 27, 27] < 1.0  # not flipped or transposed


@pytest.mark.parametrize("layout", ["FashionMNIST/raw", "fashion-mnist", "."])
@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "plain"])
def test_every_layout_is_found(tmp_path: Path, layout: str, compressed: bool) -> None:
    write_fashion(tmp_path / "data" / layout, compressed, splits=("test",))
    dataset = build_fashion_mnist(_request(tmp_path / "data", tmp_path / "cache", split="test"))
    assert _ids(dataset) == list(range(100, 100 + SIZES["test"]))
    assert list((tmp_path / "cache").iterdir()) == []  # the scratch copies are gone


def test_missing_files_name_the_files_the_folders_and_where_to_get_them(tmp_path: Path) -> None:
    write_fashion(tmp_path / "data" / "fashion-mnist", splits=("test",))
    with pytest.raises(DatasetError, match="Fashion-MNIST's train files were not found") as error:
        build_fashion_mnist(_request(tmp_path / "data", tmp_path / "cache"))
    message = str(error.value)
    for name in (*IDX_FILES["train"], *IDX_FILES["test"]):
        assert f"{name}.gz" in message
    for folder in ("FashionMNIST/raw", "fashion-mnist"):
        assert str(tmp_path / "data" / folder) in message
    assert FashionMNIST.mirrors[0] in message and "github.com/zalandoresearch/fashion-mnist" in message
    assert "download=true" not in message  # no download option: never downloads


def test_without_a_data_dir_the_error_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"under --data-dir \(not set\)"):
        build_fashion_mnist(_request(None, tmp_path / "cache"))


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write_fashion(folder, splits=("test",))
    (folder / f"{IDX_FILES['test'][0]}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03garbage"))
    with pytest.raises(DatasetError, match="not a readable Fashion-MNIST idx file"):
        build_fashion_mnist(_request(folder, tmp_path / "cache", split="test"))


def test_the_common_options_apply(tmp_path: Path) -> None:
    write_fashion(tmp_path / "data")
    dataset = build_fashion_mnist(_request(tmp_path / "data", tmp_path / "cache", classes="Bag,0", center_crop=20))
    assert dataset.class_names == ["T-shirt/top", "Bag"]
    assert [dataset[i][1] for i in range(len(dataset))] == [0, 1, 0]  # ids 0, 8, 10
    assert torch.equal(dataset.labels, torch.tensor([0, 1, 0]))
    assert dataset[0][0].shape == (1, 28, 28) and dataset[0][0][0, 0, 0] < 1.0  # the bright corner was cropped away
