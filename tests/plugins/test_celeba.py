"""celeba reads a small copy in torchvision's layout: celeba/img_align_celeba/*.jpg (178x218) and the partition file.

The fixture records its partition file's MD5 sum in torchvision's CelebA class, where the
plugin reads the official one, so the check still runs on a real file.
"""

import hashlib
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.datasets import CelebA

import ganbench_plugins.celeba as celeba
from ganbench.errors import ConfigError, DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.celeba import build_celeba

# partition codes of images 000001.jpg.. : 0 train, 1 valid, 2 test, interleaved as in no real file
PARTS = [0, 0, 1, 0, 2, 0, 1, 0, 0, 2, 1]
IDS = {
    split: [i for i, part in enumerate(PARTS) if part == code] for code, split in enumerate(("train", "valid", "test"))
}
BAND = 20  # rows at the top and bottom that the default crop (178 of 218 rows) cuts away
SQUARE = 60  # side of the white square at the centre


def _request(root: Path | None, cache: Path, split: str = "train", resolution: int = 32, **options) -> DatasetRequest:
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _face(index: int) -> torch.Tensor:
    """Red bands at top and bottom, a white square at the centre, elsewhere blue = 20 * (index + 1)."""
    image = torch.zeros(3, 218, 178, dtype=torch.uint8)
    image[2] = 20 * (index + 1)
    image[:, :BAND] = image[:, -BAND:] = torch.tensor([255, 0, 0], dtype=torch.uint8)[:, None, None]
    top, left = (218 - SQUARE) // 2, (178 - SQUARE) // 2
    image[:, top : top + SQUARE, left : left + SQUARE] = 255
    return image


def write_celeba(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    for index in range(len(PARTS)):
        face = Image.fromarray(_face(index).permute(1, 2, 0).numpy())
        face.save(folder / "img_align_celeba" / f"{index + 1:06d}.jpg", quality=95)
    partition = folder / "list_eval_partition.txt"
    partition.write_text("".join(f"{index + 1:06d}.jpg {part}\n" for index, part in enumerate(PARTS)))
    trusted = hashlib.md5(partition.read_bytes()).hexdigest()
    file_list = [(file_id, trusted if name == partition.name else md5, name) for file_id, md5, name in CelebA.file_list]
    monkeypatch.setattr(CelebA, "file_list", file_list)
    return root


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_celeba(tmp_path / "data", monkeypatch)


def _ids(dataset: ImageDataset) -> list[int]:
    """Each image's index, from the blue of its top-left pixel."""
    return [round((dataset[i][0][2, 0, 0].item() + 1) * 127.5 / 20) - 1 for i in range(len(dataset))]


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("an image was decoded again")

    monkeypatch.setattr(celeba, "load_image", fail)


def test_the_registry_finds_it_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "celeba")
    assert spec.build is build_celeba
    assert spec.needs_files and not spec.labelled
    assert spec.splits == ("train", "valid", "test") and spec.options["center_crop"] == 178
    assert "center_crop (default 178)" in spec.description


def test_the_splits_follow_the_partition_file_and_are_unlabelled(data: Path, tmp_path: Path) -> None:
    for split, ids in IDS.items():
        dataset = build_celeba(_request(data, tmp_path / "cache", split=split))
        assert isinstance(dataset, ImageDataset)
        assert (len(dataset), dataset.channels, dataset.num_classes, dataset.class_names) == (len(ids), 3, 0, [])
        assert dataset[0][0].shape == (3, 32, 32) and dataset[0][1] == -1
        assert _ids(dataset) == ids


def test_the_default_crop_cuts_the_bands_away_and_a_smaller_one_keeps_the_centre(data: Path, tmp_path: Path) -> None:
    red = torch.tensor([255, 0, 0])
    whole = build_celeba(_request(data, tmp_path / "cache", center_crop=178, resolution=178)).images[0]
    assert (whole[:, 0, 0].int() - red).abs().max() > 100  # the corner is not in a red band
    uncropped_corner = celeba.decode(data / "celeba" / "img_align_celeba" / "000001.jpg")[:, 0, 0]
    assert (uncropped_corner.int() - red).abs().max() < 10
    centre = build_celeba(_request(data, tmp_path / "cache", center_crop=SQUARE - 4, resolution=16)).images
    assert centre.min() > 230  # all white
    with pytest.raises(ConfigError, match="center_crop = 200 is invalid: it is larger than the images"):
        build_celeba(_request(data, tmp_path / "cache", center_crop=200))


def test_the_second_load_decodes_nothing(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_celeba(_request(data, tmp_path / "cache", resolution=64))
    _no_decoding(monkeypatch)
    second = build_celeba(_request(data, tmp_path / "cache", resolution=64))
    assert torch.equal(first.images, second.images)
    cached = [path.name for path in (tmp_path / "cache").iterdir()]
    assert len(cached) == 1 and cached[0].startswith("celeba-train-64px-") and cached[0].endswith(".pt")
    for changed in ({"resolution": 32}, {"split": "test"}, {"center_crop": 100}):
        options = {"resolution": 64, **changed}
        with pytest.raises(AssertionError, match="decoded again"):
            build_celeba(_request(data, tmp_path / "cache", **options))


def test_the_options_apply(data: Path, tmp_path: Path) -> None:
    half = build_celeba(_request(data, tmp_path / "cache", fraction=0.5, seed=1))
    again = build_celeba(_request(data, tmp_path / "cache", fraction=0.5, seed=1))
    assert len(half) == round(len(IDS["train"]) / 2) and _ids(half) == _ids(again)
    assert set(_ids(half)) < set(IDS["train"])
    flipped = build_celeba(_request(data, tmp_path / "cache", flip=True))
    assert len(flipped) == 2 * len(IDS["train"])
    with pytest.raises(ConfigError, match="this split has no labels"):
        build_celeba(_request(data, tmp_path / "cache", classes="0"))


def test_a_missing_folder_names_the_expected_files_and_where_to_get_them(tmp_path: Path) -> None:
    (tmp_path / "data" / "celeba").mkdir(parents=True)
    (tmp_path / "data" / "celeba" / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    with pytest.raises(DatasetError) as error:
        build_celeba(_request(tmp_path / "data", tmp_path / "cache"))
    message = str(error.value)
    assert f"{tmp_path / 'data' / 'celeba'} lacks img_align_celeba." in message
    assert "img_align_celeba.zip" in message and celeba.PAGE in message and "never downloads" in message


def test_a_missing_image_is_named(data: Path, tmp_path: Path) -> None:
    (data / "celeba" / "img_align_celeba" / "000004.jpg").unlink()
    with pytest.raises(DatasetError, match=r"000004.jpg, listed in list_eval_partition.txt, cannot be read"):
        build_celeba(_request(data, tmp_path / "cache"))
    assert list(tmp_path.glob("cache/*")) == []  # no partial cache


def test_a_partition_file_that_is_not_the_official_one_is_refused(data: Path, tmp_path: Path) -> None:
    partition = data / "celeba" / "list_eval_partition.txt"
    partition.write_text(partition.read_text().replace(" 2\n", " 0\n"))
    with pytest.raises(DatasetError, match=r"list_eval_partition.txt in .* differ from the official files"):
        build_celeba(_request(data, tmp_path / "cache"))
