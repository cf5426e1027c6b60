from pathlib import Path

import pytest
import torch
from PIL import Image

from ganbench.data.images import (
    ImageFileDataset,
    IndexedDataset,
    TensorImageDataset,
    detect_channels,
    fit_square,
    fit_square_all,
    is_grayscale,
    load_image,
    to_signed_unit,
)
from ganbench.errors import DatasetError
from ganbench.specs import ImageDataset


def _save(path: Path, mode: str, size: tuple[int, int], colour: int | tuple[int, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def test_to_signed_unit_maps_the_byte_range_onto_minus_one_to_one() -> None:
    values = to_signed_unit(torch.tensor([0, 255], dtype=torch.uint8))
    assert values.dtype == torch.float32
    assert values.tolist() == [-1.0, 1.0]


def test_fit_square_resizes_the_shorter_side_then_crops_the_centre() -> None:
    # a wide image: red | white | blue thirds; the centre crop must keep only the white third
    image = torch.zeros(3, 20, 60, dtype=torch.uint8)
    image[0, :, :20] = 255
    image[:, :, 20:40] = 255
    image[2, :, 40:] = 255
    square = fit_square(image, 16)
    assert square.shape == (3, 16, 16) and square.dtype == torch.uint8
    assert square[:, :, 2:-2].min() == 255


def test_fit_square_handles_batches_and_leaves_fitting_images_alone() -> None:
    batch = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    assert fit_square(batch, 32).shape == (5, 1, 32, 32)
    assert fit_square(batch, 28) is batch


def test_tensor_dataset_resizes_once_and_serves_floats_in_range() -> None:
    images = torch.randint(0, 256, (7, 1, 28, 28), dtype=torch.uint8)
    dataset = TensorImageDataset(images, torch.arange(7) % 3, ["a", "b", "c"], resolution=32)
    assert isinstance(dataset, ImageDataset)
    assert dataset.images.shape == (7, 1, 32, 32)
    assert (len(dataset), dataset.channels, dataset.num_classes, dataset.class_names) == (7, 1, 3, ["a", "b", "c"])
    image, label = dataset[4]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert -1.0 <= image.min() <= image.max() <= 1.0
    assert label == 1 and isinstance(label, int)


def test_tensor_dataset_rejects_float_images() -> None:
    with pytest.raises(TypeError, match="uint8"):
        TensorImageDataset(torch.zeros(2, 3, 8, 8), torch.zeros(2), ["a"], resolution=8)


def test_load_image_converts_to_the_requested_channels(tmp_path: Path) -> None:
    path = _save(tmp_path / "red.png", "RGB", (6, 4), (255, 0, 0))
    rgb = load_image(path, 3)
    assert rgb.shape == (3, 4, 6)
    assert rgb[:, 0, 0].tolist() == [255, 0, 0]
    assert load_image(path, 1).shape == (1, 4, 6)


def test_a_truncated_jpeg_fails_with_its_path_when_decoded(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    Image.effect_noise((64, 64), 50).convert("RGB").save(path, quality=95)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert not is_grayscale(path)  # the header is intact: only decoding finds the damage
    with pytest.raises(DatasetError, match="Remove or replace") as error:
        load_image(path, 3)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_an_image_fails_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(DatasetError) as error:
        is_grayscale(path)
    assert str(path) in str(error.value)


def test_detect_channels_is_one_only_when_every_image_is_grayscale(tmp_path: Path) -> None:
    gray = [_save(tmp_path / f"g{i}.png", "L", (4, 4), 128) for i in range(3)]
    colour = _save(tmp_path / "c.jpg", "RGB", (4, 4), (10, 200, 30))
    assert detect_channels(gray) == 1
    assert detect_channels([*gray, colour]) == 3


def test_image_file_dataset_decodes_items_on_demand(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"{i}.png", "RGB", (40, 30), (0, 0, 0)) for i in range(2)]
    dataset = ImageFileDataset([(paths[0], 0), (paths[1], 1)], ["x", "y"], channels=3, resolution=16)
    assert isinstance(dataset, ImageDataset)
    image, label = dataset[1]
    assert image.shape == (3, 16, 16)
    assert torch.all(image == -1.0)
    assert label == 1


def test_fit_square_all_resizes_in_chunks_and_leaves_fitting_images_alone() -> None:
    images = torch.randint(0, 256, (5, 3, 40, 30), dtype=torch.uint8)
    assert torch.equal(fit_square_all(images, 16), torch.stack([fit_square(image, 16) for image in images]))
    fitting = images[:, :, :30]
    assert fit_square_all(fitting, 30) is fitting


def test_indexed_dataset_repeats_and_mirrors_without_copying() -> None:
    images = torch.randint(0, 256, (3, 1, 4, 4), dtype=torch.uint8)
    base = TensorImageDataset(images, torch.tensor([0, 1, 1]), ["a", "b"], resolution=4)
    view = IndexedDataset(base, torch.tensor([2, 0, 2]), torch.tensor([False, False, True]))
    assert isinstance(view, ImageDataset)
    assert (len(view), view.channels, view.num_classes, view.class_names) == (3, 1, 2, ["a", "b"])
    assert view.labels.tolist() == [1, 0, 1]
    assert torch.equal(view[0][0], base[2][0]) and torch.equal(view[2][0], base[2][0].flip(-1))
    with pytest.raises(ValueError, match="2 indices but 1 mirror flags"):
        IndexedDataset(base, torch.tensor([0, 1]), torch.tensor([False]))
