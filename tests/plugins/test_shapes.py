from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from ganbench.errors import ConfigError
from ganbench.registry import build_registry
from ganbench.specs import DatasetRequest, ImageDataset
from ganbench_plugins.shapes import SHAPES, build_shapes


def _build(tmp_path: Path, split: str = "train", resolution: int = 32, **options: Any):
    return build_shapes(
        DatasetRequest(
            split=split, resolution=resolution, root=None, cache_dir=tmp_path, options={"size": 300, **options}
        )
    )


def _images(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def _fingerprints(dataset) -> set[bytes]:
    return {image.numpy().tobytes() for image in dataset.images}


def test_the_registry_finds_shapes_through_its_entry_point() -> None:
    spec = build_registry().get("dataset", "shapes")
    assert spec.build is build_shapes
    assert not spec.needs_files
    assert spec.options == {"seed": 0, "size": None, "background": "dark"}


def test_images_are_rgb_floats_in_range_at_any_resolution(tmp_path: Path) -> None:
    for resolution in (16, 32, 64):
        dataset = _build(tmp_path, resolution=resolution, size=40)
        assert isinstance(dataset, ImageDataset)
        assert dataset.channels == 3
        image, label = dataset[0]
        assert image.shape == (3, resolution, resolution) and image.dtype == torch.float32
        assert 0 <= label < dataset.num_classes
        images = _images(dataset)
        assert images.min() >= -1.0 and images.max() <= 1.0


def test_a_scene_is_the_same_at_every_resolution(tmp_path: Path) -> None:
    large = _images(_build(tmp_path, resolution=64, size=50))
    small = _images(_build(tmp_path, resolution=16, size=50))
    assert (F.avg_pool2d(large, 4) - small).abs().mean() < 0.03


def test_same_seed_same_images_other_seed_or_split_other_images(tmp_path: Path) -> None:
    first, again = _build(tmp_path, seed=3), _build(tmp_path, seed=3)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    other_seed = _build(tmp_path, seed=4)
    test_split = _build(tmp_path, split="test", seed=3)
    for other in (other_seed, test_split):
        assert not _fingerprints(first) & _fingerprints(other)


def test_at_least_ten_named_classes_balanced(tmp_path: Path) -> None:
    dataset = _build(tmp_path, size=1000)
    assert dataset.num_classes >= 10
    assert dataset.class_names == list(SHAPES) and len(set(dataset.class_names)) == dataset.num_classes
    counts = torch.bincount(dataset.labels, minlength=dataset.num_classes)
    assert counts.max() - counts.min() <= 1


def test_by_default_bright_saturated_shapes_of_every_hue_on_one_dark_background(tmp_path: Path) -> None:
    dataset = _build(tmp_path, size=500)
    images = dataset.images.float() / 255
    corners = images[:, :, 0, 0]
    assert torch.allclose(corners, corners[0].expand_as(corners)) and corners.max() < 0.1
    brightest = images.flatten(2).max(dim=2).values  # the shape's colour, per channel
    assert (brightest.max(dim=1).values - corners.max(dim=1).values).min() > 0.6
    # every channel is the dominant one in some images: hues cover the colour wheel
    assert set(brightest.argmax(dim=1).tolist()) == {0, 1, 2}


def test_random_backgrounds_contrast_with_their_shapes(tmp_path: Path) -> None:
    dataset = _build(tmp_path, size=500, background="random")
    brightness = _images(dataset).mean(dim=1).flatten(1)
    # shape and background differ by at least 0.2 of the full range in every channel
    assert (brightness.max(dim=1).values - brightness.min(dim=1).values).min() > 0.39
    corners = dataset.images[:, :, 0, 0].float()
    assert corners.std(dim=0).min() > 20, "backgrounds are drawn per image"
    default = _build(tmp_path, size=500)
    assert torch.equal(default.labels, dataset.labels), "the background option changes only colours"


def test_default_sizes_per_split(tmp_path: Path) -> None:
    assert len(_build(tmp_path, resolution=4, size=None)) == 10_000
    assert len(_build(tmp_path, split="test", resolution=4, size=None)) == 2_000


def test_options_given_as_text_are_accepted(tmp_path: Path) -> None:
    assert len(_build(tmp_path, resolution=8, size="25", seed="2")) == 25


@pytest.mark.parametrize(
    "options",
    [{"size": 0}, {"size": "many"}, {"size": 2.5}, {"seed": -1}, {"seed": True}, {"background": "white"}],
)
def test_invalid_options_name_the_option(tmp_path: Path, options: dict[str, Any]) -> None:
    name = next(iter(options))
    with pytest.raises(ConfigError, match=f"option {name} ="):
        _build(tmp_path, resolution=8, **options)
