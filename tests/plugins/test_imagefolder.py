from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from ganbench.errors import ConfigError, DatasetError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins import imagefolder
from ganbench_plugins.imagefolder import build_imagefolder, folder_fingerprint


def _save(path: Path, mode: str = "RGB", size: tuple[int, int] = (24, 24), colour: Any = (200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def _request(root: Path | None, split: str = "train", resolution: int = 16, **options: Any) -> DatasetRequest:
    # the cache lies beside the data, never inside it, where it would be a class folder
    cache = (root or Path.cwd() / "no-root").parent / f"{(root or Path('no-root')).name}-cache"
    return DatasetRequest(split=split, resolution=resolution, root=root, cache_dir=cache, options=options)


def _build(root: Path | None, split: str = "train", resolution: int = 16, **options: Any):
    return build_imagefolder(_request(root, split, resolution, **options))


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    """The playing-cards layout: train/valid/test above the class folders, some classes missing from a split."""
    root = tmp_path / "cards"
    for name in ("ace of spades", "king of hearts", "two of clubs"):
        for i in range(3):
            _save(root / "train" / name / f"{i}.jpg")
    _save(root / "valid" / "king of hearts" / "0.jpg")
    _save(root / "test" / "two of clubs" / "0.png")
    _save(root / "test" / "two of clubs" / "1.PNG")
    return root


def test_the_registry_finds_imagefolder_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "imagefolder")
    assert spec.build is build_imagefolder
    assert spec.needs_files and spec.options == {"channels": "auto"}


def test_classes_are_the_subfolders_of_a_flat_folder(tmp_path: Path) -> None:
    _save(tmp_path / "dog" / "a.png")
    _save(tmp_path / "cat" / "a.jpg")
    _save(tmp_path / "cat" / "nested" / "b.jpeg")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    dataset = _build(tmp_path)
    assert isinstance(dataset, ImageDataset)
    assert dataset.class_names == ["cat", "dog"] and dataset.num_classes == 2
    assert sorted(dataset[i][1] for i in range(len(dataset))) == [0, 0, 1]


def test_split_folders_select_the_split_with_one_class_index_for_all(cards: Path) -> None:
    train, valid, test = (_build(cards, split) for split in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (9, 1, 2)
    for dataset in (train, valid, test):
        assert dataset.class_names == ["ace of spades", "king of hearts", "two of clubs"]
    assert valid[0][1] == 1 and test[0][1] == 2


def test_images_are_resized_and_center_cropped(tmp_path: Path) -> None:
    image = Image.new("RGB", (90, 30), (255, 0, 0))  # red | white | blue, side by side
    image.paste((255, 255, 255), (30, 0, 60, 30))
    image.paste((0, 0, 255), (60, 0, 90, 30))
    (tmp_path / "flags").mkdir()
    image.save(tmp_path / "flags" / "wide.png")
    dataset = _build(tmp_path, resolution=12)
    item, _ = dataset[0]
    assert item.shape == (3, 12, 12)
    assert item[:, :, 1:-1].min() > 0.95  # only the white centre survives the crop


def test_grayscale_folders_give_one_channel_and_colour_three(tmp_path: Path) -> None:
    gray = tmp_path / "gray"
    _save(gray / "a" / "0.png", "L", colour=90)
    _save(gray / "b" / "0.jpg", "L", colour=200)
    assert _build(gray).channels == 1
    assert _build(gray)[0][0].shape == (1, 16, 16)
    _save(gray / "b" / "1.jpg", "RGB")
    assert _build(gray).channels == 3


def test_the_channel_count_is_the_same_for_every_split(cards: Path) -> None:
    for path in (cards / "train").rglob("*.jpg"):
        Image.new("L", (24, 24), 128).save(path)
    # valid and test still hold colour images, so train must be read as colour too
    assert _build(cards, "train").channels == 3


@pytest.mark.parametrize(("value", "channels"), [(1, 1), ("1", 1), (3, 3), ("3", 3), ("AUTO", 3)])
def test_the_channels_option_overrides_detection(cards: Path, value: Any, channels: int) -> None:
    dataset = _build(cards, channels=value)
    assert dataset.channels == channels
    assert dataset[0][0].shape == (channels, 16, 16)


def test_an_invalid_channels_option_lists_the_valid_ones(cards: Path) -> None:
    with pytest.raises(ConfigError, match="auto.*1.*3"):
        _build(cards, channels=2)


def test_a_flat_folder_has_no_test_split(tmp_path: Path) -> None:
    _save(tmp_path / "cat" / "a.png")
    with pytest.raises(DatasetError, match="no 'test' split") as error:
        _build(tmp_path, "test")
    assert str(tmp_path / "test") in str(error.value)


def test_a_missing_split_folder_is_named(cards: Path) -> None:
    (cards / "valid" / "king of hearts" / "0.jpg").unlink()
    (cards / "valid" / "king of hearts").rmdir()
    (cards / "valid").rmdir()
    with pytest.raises(DatasetError, match="train, test but no 'valid'"):
        _build(cards, "valid")


def test_no_data_dir_or_a_missing_one_asks_for_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--data-dir"):
        _build(None)
    with pytest.raises(DatasetError, match="does not exist"):
        _build(tmp_path / "nowhere")


def test_images_without_class_folders_are_a_clear_error(tmp_path: Path) -> None:
    _save(tmp_path / "loose.png")
    with pytest.raises(DatasetError, match="no class folders"):
        _build(tmp_path)


def test_a_folder_without_images_lists_the_accepted_extensions(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "photo.heic").write_bytes(b"...")
    with pytest.raises(DatasetError, match="No images found") as error:
        _build(tmp_path)
    assert ".jpg" in str(error.value) and ".png" in str(error.value)


def test_a_truncated_jpeg_is_named_when_the_split_is_decoded(tmp_path: Path) -> None:
    _save(tmp_path / "cat" / "good.jpg")
    broken = tmp_path / "cat" / "broken.jpg"
    Image.effect_noise((64, 64), 50).convert("RGB").save(broken, quality=95)
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    with pytest.raises(DatasetError, match="Remove or replace") as error:
        _build(tmp_path)
    assert str(broken) in str(error.value)
    broken.unlink()
    assert _build(tmp_path)[0][0].shape == (3, 16, 16)


def test_a_truncated_jpeg_of_a_split_too_large_to_cache_is_named_when_it_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(imagefolder, "CACHE_LIMIT", 0)
    _save(tmp_path / "cat" / "good.jpg")
    broken = tmp_path / "cat" / "broken.jpg"
    Image.effect_noise((64, 64), 50).convert("RGB").save(broken, quality=95)
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    dataset = _build(tmp_path)
    index = next(i for i, (path, _) in enumerate(dataset.samples) if path == broken)
    with pytest.raises(DatasetError, match="Remove or replace") as error:
        dataset[index]
    assert str(broken) in str(error.value)
    assert dataset[1 - index][0].shape == (3, 16, 16)


def test_a_file_that_is_no_image_at_all_is_named_at_once(tmp_path: Path) -> None:
    _save(tmp_path / "cat" / "good.png")
    (tmp_path / "cat" / "fake.png").write_text("this is text")
    with pytest.raises(DatasetError, match="fake.png"):
        _build(tmp_path)


def test_items_are_floats_in_range(cards: Path) -> None:
    image, label = _build(cards)[0]
    assert image.dtype == torch.float32 and -1.0 <= image.min() <= image.max() <= 1.0
    assert label == 0


def _never_decode(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("decoded again, though the cache holds this split")


def test_a_split_is_decoded_once_then_read_from_the_cache(cards: Path, monkeypatch) -> None:
    first = _build(cards)
    monkeypatch.setattr(imagefolder, "decode_all", _never_decode)
    again = _build(cards)
    assert torch.equal(torch.stack([again[i][0] for i in range(len(again))]), first.images.float() / 127.5 - 1)
    assert again.labels.tolist() == first.labels.tolist() and again.class_names == first.class_names


def test_cached_images_equal_the_images_decoded_on_read(cards: Path, monkeypatch) -> None:
    cached = _build(cards, resolution=12)
    monkeypatch.setattr(imagefolder, "CACHE_LIMIT", 0)
    on_read = _build(cards, resolution=12)
    assert isinstance(on_read, imagefolder.ImageFileDataset)
    assert all(torch.equal(cached[i][0], on_read[i][0]) for i in range(len(cached)))


@pytest.mark.parametrize("change", ["rewrite", "add", "remove"])
def test_a_changed_folder_is_decoded_again_never_served_stale(cards: Path, change: str) -> None:
    before = _build(cards)
    target = cards / "train" / "ace of spades" / "0.jpg"
    if change == "rewrite":
        Image.new("RGB", (24, 24), (0, 0, 250)).save(target)  # same name, new pixels
    elif change == "add":
        _save(cards / "train" / "ace of spades" / "9.jpg", colour=(0, 250, 0))
    else:
        target.unlink()
    after = _build(cards)
    expected = {"rewrite": len(before), "add": len(before) + 1, "remove": len(before) - 1}[change]
    assert len(after) == expected
    if change == "rewrite":
        assert after[0][0][2].mean() > 0.9 and before[0][0][2].mean() < -0.6  # blue now, red before


def test_the_fingerprint_names_the_files_not_where_they_lie(cards: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "elsewhere" / "cards"
    shutil.copytree(cards, copy)
    fingerprint = folder_fingerprint(_request(cards))
    assert folder_fingerprint(_request(copy)) == fingerprint
    _save(copy / "test" / "two of clubs" / "2.png")
    assert folder_fingerprint(_request(copy)) != fingerprint


def test_worker_processes_decode_what_one_process_does_and_name_a_bad_file_plainly(tmp_path: Path) -> None:
    from ganbench.data.images import DECODE_BATCH, decode_all

    for index in range(DECODE_BATCH + 20):  # more than one batch: decoded by worker processes
        _save(tmp_path / "cat" / f"{index:03d}.png", size=(10, 14), colour=(index % 256, 7, 200))
    files = imagefolder.ImageFileDataset([(p, 0) for p in sorted((tmp_path / "cat").iterdir())], ["cat"], 3, 8)
    assert torch.equal(decode_all(files, workers=2), decode_all(files, workers=0))
    broken = tmp_path / "cat" / "270.png"
    broken.write_text("not an image")
    with pytest.raises(DatasetError, match="Remove or replace") as error:
        decode_all(files, workers=2)
    assert str(broken) in str(error.value) and "Traceback" not in str(error.value)
