"""cifar10 and cifar100 read small files in the official python-pickle format, as torchvision keeps them.

torchvision checks every file against the official MD5 sums whenever it loads; the fixtures
record their own files' sums in its classes instead, so the check still runs, on real files.
"""

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10, CIFAR100

from ganbench.data.options import LABELLED_OPTIONS
from ganbench.errors import ConfigError, DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.cifar import build_cifar10, build_cifar100

PER_BATCH = 6
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR100_NAMES = [f"fine{i:02d}" for i in range(100)]


def _request(root: Path | None, cache: Path, split: str = "train", resolution: int = 32, **options) -> DatasetRequest:
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _rows(first_id: int, count: int) -> np.ndarray:
    """Images in CIFAR's row format (1024 red, 1024 green, 1024 blue values, row-major): red = column * 8,
    green = row * 8, blue = the image's id, so channel order, orientation and identity can be checked."""
    column = np.tile(np.arange(32) * 8, 32)
    row = np.repeat(np.arange(32) * 8, 32)
    return np.stack([np.concatenate([column, row, np.full(1024, first_id + i)]) for i in range(count)]).astype(np.uint8)


def _dump(path: Path, entry: dict) -> None:
    with open(path, "wb") as file:
        pickle.dump(entry, file)


def _trust(monkeypatch: pytest.MonkeyPatch, source: type[CIFAR10], folder: Path) -> None:
    """Record the fixture's MD5 sums as the official ones."""

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(source, "train_list", [[name, md5(name)] for name, _ in source.train_list])
    monkeypatch.setattr(source, "test_list", [[name, md5(name)] for name, _ in source.test_list])
    monkeypatch.setattr(source, "meta", {**source.meta, "md5": md5(source.meta["filename"])})


@pytest.fixture(autouse=True)
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self: CIFAR10) -> None:
        raise AssertionError("a CIFAR plugin tried to download")

    monkeypatch.setattr(CIFAR10, "download", offline)


def write_cifar10(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """data_batch_1..5 (PER_BATCH images each, ids 0..) and test_batch (ids 100..); label = id % 10."""
    folder = root / CIFAR10.base_folder
    folder.mkdir(parents=True)
    for number in range(1, 6):
        ids = range((number - 1) * PER_BATCH, number * PER_BATCH)
        entry = {"batch_label": f"training batch {number} of 5", "data": _rows(ids[0], PER_BATCH)}
        _dump(folder / f"data_batch_{number}", {**entry, "labels": [i % 10 for i in ids]})
    test_ids = range(100, 100 + PER_BATCH)
    _dump(folder / "test_batch", {"data": _rows(100, PER_BATCH), "labels": [i % 10 for i in test_ids]})
    _dump(folder / "batches.meta", {"label_names": CIFAR10_NAMES, "num_cases_per_batch": PER_BATCH, "num_vis": 3072})
    _trust(monkeypatch, CIFAR10, folder)
    return root


def write_cifar100(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """train (ids 0..) and test (ids 100..); fine label = 99 - id, coarse label = id % 20."""
    folder = root / CIFAR100.base_folder
    folder.mkdir(parents=True)
    for name, first in (("train", 0), ("test", 100)):
        ids = range(first, first + PER_BATCH)
        entry = {"data": _rows(first, PER_BATCH), "coarse_labels": [i % 20 for i in ids]}
        _dump(folder / name, {**entry, "fine_labels": [(99 - i) % 100 for i in ids]})
    _dump(folder / "meta", {"fine_label_names": CIFAR100_NAMES, "coarse_label_names": [f"c{i}" for i in range(20)]})
    _trust(monkeypatch, CIFAR100, folder)
    return root


@pytest.fixture
def cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_cifar10(tmp_path / "data", monkeypatch)


def _ids(dataset: ImageDataset) -> list[int]:
    return [round((dataset[i][0][2, 0, 0].item() + 1) * 127.5) for i in range(len(dataset))]


def test_the_registry_finds_both_through_their_entry_point() -> None:
    registry = build_registry()
    for name, build in (("cifar10", build_cifar10), ("cifar100", build_cifar100)):
        spec = registry.get("dataset", name)
        assert spec.build is build
        assert spec.needs_files and spec.labelled and spec.splits == ("train", "test")
        assert spec.options == LABELLED_OPTIONS
        assert "options: classes, fraction, seed, center_crop, flip, balance" in spec.description


def test_cifar10_serves_both_splits_with_their_labels_and_class_names(cifar10: Path, tmp_path: Path) -> None:
    train = build_cifar10(_request(cifar10, tmp_path / "cache"))
    test = build_cifar10(_request(cifar10, tmp_path / "cache", split="test"))
    assert isinstance(train, ImageDataset)
    assert (len(train), len(test)) == (5 * PER_BATCH, PER_BATCH)
    assert (train.channels, train.num_classes, train.class_names) == (3, 10, CIFAR10_NAMES)
    assert _ids(train) == list(range(5 * PER_BATCH)) and _ids(test) == list(range(100, 100 + PER_BATCH))
    assert [train[i][1] for i in range(len(train))] == [i % 10 for i in range(5 * PER_BATCH)]
    assert set(_ids(train)).isdisjoint(_ids(test))


def test_pixels_keep_their_channel_and_orientation(cifar10: Path, tmp_path: Path) -> None:
    image = build_cifar10(_request(cifar10, tmp_path / "cache")).images[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
    assert image[0, 5].tolist() == [column * 8 for column in range(32)]  # red grows along a row
    assert image[1, :, 5].tolist() == [row * 8 for row in range(32)]  # green grows down a column


def test_images_are_resized_to_the_resolution(cifar10: Path, tmp_path: Path) -> None:
    dataset = build_cifar10(_request(cifar10, tmp_path / "cache", split="test", resolution=64))
    assert dataset[0][0].shape == (3, 64, 64)
    assert -1.0 <= dataset[0][0].min() <= dataset[0][0].max() <= 1.0


def test_cifar100_serves_the_fine_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_cifar100(tmp_path / "data", monkeypatch)
    train = build_cifar100(_request(root, tmp_path / "cache"))
    test = build_cifar100(_request(root, tmp_path / "cache", split="test"))
    assert (train.num_classes, train.class_names) == (100, CIFAR100_NAMES)
    assert [label for _, label in (train[i] for i in range(PER_BATCH))] == [99 - i for i in range(PER_BATCH)]
    assert _ids(test) == list(range(100, 100 + PER_BATCH))


@pytest.mark.parametrize("layout", ["cifar10", "the batches folder"])
def test_the_other_layouts_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    if layout == "cifar10":
        write_cifar10(tmp_path / "data" / "cifar10", monkeypatch)
        root = tmp_path / "data"
    else:
        root = write_cifar10(tmp_path / "data", monkeypatch) / CIFAR10.base_folder
    assert len(build_cifar10(_request(root, tmp_path / "cache", split="test"))) == PER_BATCH


def test_a_missing_file_is_named_with_its_folder_and_where_to_get_it(cifar10: Path, tmp_path: Path) -> None:
    folder = cifar10 / CIFAR10.base_folder
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetError) as error:
        build_cifar10(_request(cifar10, tmp_path / "cache", split="test"))  # torchvision needs every file
    message = str(error.value)
    assert f"{folder} lacks data_batch_3." in message
    assert CIFAR10.url in message and "download=True" in message
    for name in ("data_batch_1", "data_batch_5", "test_batch", "batches.meta"):
        assert name in message


def test_without_a_data_dir_the_error_says_to_pass_one(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--data-dir, which is not set") as error:
        build_cifar100(_request(None, tmp_path / "cache"))
    assert CIFAR100.url in str(error.value) and "cifar-100-python" in str(error.value)


def test_a_file_that_is_not_the_official_one_is_named_before_it_is_unpickled(cifar10: Path, tmp_path: Path) -> None:
    test_batch = cifar10 / CIFAR10.base_folder / "test_batch"
    test_batch.write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match=r"test_batch in .* differ from the official files \(MD5"):
        build_cifar10(_request(cifar10, tmp_path / "cache"))


def test_a_class_subset_re_indexes_labels_in_the_dataset_order(cifar10: Path, tmp_path: Path) -> None:
    dataset = build_cifar10(_request(cifar10, tmp_path / "cache", classes="cat,1"))
    assert dataset.class_names == ["automobile", "cat"] and dataset.num_classes == 2
    labels = [dataset[i][1] for i in range(len(dataset))]
    expected = [1 if i % 10 == 3 else 0 for i in range(5 * PER_BATCH) if i % 10 in (1, 3)]
    assert labels == expected
    assert all(i % 10 in (1, 3) for i in _ids(dataset))


def test_an_unknown_class_lists_the_classes(cifar10: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="option classes names 'unicorn'.*airplane, automobile"):
        build_cifar10(_request(cifar10, tmp_path / "cache", classes="cat,unicorn"))


def test_a_fraction_shrinks_the_train_split_only(cifar10: Path, tmp_path: Path) -> None:
    train = build_cifar10(_request(cifar10, tmp_path / "cache", fraction=0.5, seed=3))
    again = build_cifar10(_request(cifar10, tmp_path / "cache", fraction=0.5, seed=3))
    test = build_cifar10(_request(cifar10, tmp_path / "cache", split="test", fraction=0.5, seed=3))
    assert len(train) == 5 * PER_BATCH // 2 and _ids(train) == _ids(again)
    assert len(test) == PER_BATCH


def test_center_crop_takes_source_pixels_before_resizing(cifar10: Path, tmp_path: Path) -> None:
    image = build_cifar10(_request(cifar10, tmp_path / "cache", center_crop=16, resolution=16)).images[0]
    assert image[0, 0].tolist() == [column * 8 for column in range(8, 24)]
    with pytest.raises(ConfigError, match="center_crop = 40 is invalid: it is larger than the images"):
        build_cifar10(_request(cifar10, tmp_path / "cache", center_crop=40))
