import gzip
import shutil
from pathlib import Path

import pytest
import torch
from torchvision.datasets import MNIST

from ganbench.errors import DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.mnist import IDX_FILES, build_mnist

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TEST_FILES = IDX_FILES["test"]


@pytest.fixture(scope="module")
def official() -> Path:
    """The folder of the four official gzip files."""
    folder = SHARED_DATA / "mnist"
    if not folder.is_dir():
        pytest.skip(f"the official MNIST files are not in {folder.resolve()} (this test reads them offline)")
    return folder


def _request(root: Path | None, cache: Path, split: str = "test", resolution: int = 32, **options) -> DatasetRequest:
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _place_test_files(folder: Path, official: Path, compressed: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEST_FILES:
        if compressed:
            (folder / f"{name}.gz").symlink_to(official / f"{name}.gz")
        else:
            with gzip.open(official / f"{name}.gz") as source, open(folder / name, "wb") as target:
                shutil.copyfileobj(source, target)


def test_the_registry_finds_mnist_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "mnist")
    assert spec.build is build_mnist
    assert spec.needs_files and spec.options == {"download": False}


def test_the_shared_data_dir_serves_both_splits(official: Path, tmp_path: Path) -> None:
    test = build_mnist(_request(official.parent, tmp_path))
    assert isinstance(test, ImageDataset)
    assert (len(test), test.channels, test.num_classes) == (10_000, 1, 10)
    image, label = test[0]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert image.min() == -1.0 and image.max() <= 1.0
    assert label == 7  # the first official test digit
    train = build_mnist(_request(official.parent, tmp_path, split="train", resolution=28))
    assert len(train) == 60_000 and train[0][1] == 5
    assert torch.bincount(train.labels).min() > 5000


@pytest.mark.parametrize("layout", ["MNIST/raw", "mnist", "."])
@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "plain"])
def test_every_layout_is_found(official: Path, tmp_path: Path, layout: str, compressed: bool) -> None:
    root = tmp_path / "data"
    _place_test_files(root / layout, official, compressed)
    dataset = build_mnist(_request(root, tmp_path / "cache", resolution=28))
    assert len(dataset) == 10_000 and dataset[0][1] == 7


def test_the_data_folder_is_left_untouched_and_no_scratch_remains(official: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    _place_test_files(root / "mnist", official, compressed=True)
    before = sorted(root.rglob("*"))
    build_mnist(_request(root, tmp_path / "cache"))
    assert sorted(root.rglob("*")) == before
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_files_name_the_files_the_folders_and_the_fixes(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(DatasetError) as error:
        build_mnist(_request(root, tmp_path / "cache"))
    message = str(error.value)
    for name in (*IDX_FILES["train"], *IDX_FILES["test"]):
        assert f"{name}.gz" in message
    for folder in (root / "MNIST" / "raw", root / "mnist", root):
        assert str(folder) in message
    assert "download=true" in message and "--data-dir" in message


def test_files_of_the_other_split_do_not_count(official: Path, tmp_path: Path) -> None:
    _place_test_files(tmp_path / "data", official, compressed=True)
    with pytest.raises(DatasetError, match="MNIST's train files were not found"):
        build_mnist(_request(tmp_path / "data", tmp_path / "cache", split="train"))


def test_a_damaged_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    for name in TEST_FILES:
        (root / f"{name}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x09garbage"))
    with pytest.raises(DatasetError, match="Replace it") as error:
        build_mnist(_request(root, tmp_path / "cache"))
    assert str(root / f"{TEST_FILES[0]}.gz") in str(error.value)


def test_a_failed_download_says_what_to_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self: MNIST) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(DatasetError, match="internet"):
        build_mnist(_request(None, tmp_path / "cache", download=True))
