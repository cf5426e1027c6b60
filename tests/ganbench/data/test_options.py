import pytest
import torch

from ganbench.data.images import TensorImageDataset
from ganbench.data.options import (
    LABELLED_OPTIONS,
    UNLABELLED_OPTIONS,
    DatasetOptions,
    build_dataset,
    center_crop,
    describe_options,
    fraction_indices,
    parse_options,
)
from ganbench.errors import ConfigError

NAMES = ["zero", "one", "two", "three"]


def _data(count: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Image i is filled with i (a left half brighter by 100, to see flips); label i % 4."""
    images = torch.arange(count, dtype=torch.uint8)[:, None, None, None].repeat(1, 1, 8, 8)
    images[..., :4] += 100
    return images, torch.arange(count) % 4


def _build(split: str = "train", count: int = 20, labels: torch.Tensor | None = None, **options):
    images, default_labels = _data(count)
    chosen = default_labels if labels is None else labels
    return build_dataset("toy", images, chosen, NAMES, split, 8, parse_options("toy", options))


def _ids(dataset) -> list[int]:
    return [round((dataset[i][0][0, 0, -1].item() + 1) * 127.5) for i in range(len(dataset))]


def test_absent_options_change_nothing() -> None:
    assert parse_options("toy", {}) == DatasetOptions()
    assert parse_options("toy", LABELLED_OPTIONS) == DatasetOptions()
    dataset = _build()
    assert isinstance(dataset, TensorImageDataset) and _ids(dataset) == list(range(20))


def test_values_from_the_command_line_are_parsed() -> None:
    options = parse_options("toy", {"classes": " two, 1 ,", "center_crop": "24", "fraction": "0.5", "seed": "3"})
    assert options == DatasetOptions(classes=("two", "1"), fraction=0.5, seed=3, center_crop=24)
    assert parse_options("toy", {"classes": ["two", 1]}).classes == ("two", "1")
    assert parse_options("toy", {"classes": 3}).classes == ("3",)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("fraction", 0, r"a number in \(0, 1\]"),
        ("fraction", 1.5, r"a number in \(0, 1\]"),
        ("fraction", "most", r"a number in \(0, 1\]"),
        ("seed", -1, "a whole number of at least 0"),
        ("seed", 1.5, "a whole number of at least 0"),
        ("center_crop", 0, "a whole number of at least 1"),
        ("center_crop", "wide", "a whole number of at least 1"),
        ("flip", "yes", "true or false"),
        ("balance", 1, "true or false"),
        ("classes", True, "comma-separated class names or indices"),
    ],
)
def test_invalid_values_name_the_option_and_what_is_allowed(name: str, value: object, rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"The toy dataset's option {name} = .* is invalid: it must be {rule}"):
        parse_options("toy", {name: value})


def test_a_class_subset_keeps_the_dataset_order_and_re_indexes_labels() -> None:
    dataset = _build(split="test", classes="three,1")
    assert dataset.class_names == ["one", "three"] and dataset.num_classes == 2
    assert _ids(dataset) == [i for i in range(20) if i % 4 in (1, 3)]
    assert [dataset[i][1] for i in range(len(dataset))] == [0, 1] * 5


@pytest.mark.parametrize("token", ["four", "4", "-1"])
def test_an_unknown_class_lists_the_classes(token: str) -> None:
    with pytest.raises(ConfigError, match=f"names '{token}'.*from 0 to 3. Its classes: zero, one, two, three"):
        _build(classes=token)


def test_a_fraction_is_seeded_sized_and_of_the_train_split_only() -> None:
    tenth = _build(fraction=0.25, seed=7)
    assert len(tenth) == 5 and _ids(tenth) == sorted(_ids(tenth))
    assert _ids(_build(fraction=0.25, seed=7)) == _ids(tenth)
    assert _ids(_build(fraction=0.25, seed=8)) != _ids(tenth)
    assert len(_build(split="test", fraction=0.25)) == 20
    assert len(fraction_indices(1000, 0.0001, 0)) == 1  # never empty


def test_a_fraction_is_drawn_from_the_class_subset() -> None:
    dataset = _build(classes="two", fraction=0.4)
    assert len(dataset) == 2 and all(i % 4 == 2 for i in _ids(dataset))


def test_center_crop_keeps_the_centre_and_refuses_more_than_the_image() -> None:
    images = torch.arange(36, dtype=torch.uint8).reshape(1, 1, 6, 6)
    assert center_crop("toy", images, 2).flatten().tolist() == [14, 15, 20, 21]
    assert center_crop("toy", images, None) is images
    with pytest.raises(ConfigError, match=r"center_crop = 7 is invalid: it is larger than the images \(6x6 px\)"):
        center_crop("toy", images, 7)


def test_flip_adds_a_mirrored_copy_of_every_train_image() -> None:
    flipped = _build(flip=True)
    assert len(flipped) == 40 and flipped.num_classes == 4
    for index in (0, 13):
        plain, mirrored = flipped[index], flipped[20 + index]
        assert torch.equal(mirrored[0], plain[0].flip(-1)) and mirrored[1] == plain[1]
        assert not torch.equal(mirrored[0], plain[0])
    assert len(_build(split="test", flip=True)) == 20


def test_balance_repeats_rare_classes_up_to_the_largest() -> None:
    labels = torch.tensor([0] * 10 + [1] * 7 + [2] * 3)
    balanced = _build(labels=labels, balance=True)
    assert torch.bincount(balanced.labels, minlength=4).tolist() == [10, 10, 10, 0]  # absent classes stay absent
    rare = sorted(i for i in _ids(balanced) if i >= 17)
    assert rare == [17, 17, 17, 17, 18, 18, 18, 19, 19, 19]  # repeated in turn, as evenly as possible
    assert len(_build(split="test", labels=labels, balance=True)) == 20


def test_balance_and_classes_need_labels() -> None:
    images, _ = _data(4)
    unlabelled = torch.full((4,), -1)
    for options in ({"balance": True}, {"classes": "0"}):
        with pytest.raises(ConfigError, match="no labels"):
            build_dataset("toy", images, unlabelled, [], "train", 8, parse_options("toy", options))


def test_the_description_lists_the_options_and_defaults_that_change_the_images() -> None:
    assert describe_options(LABELLED_OPTIONS) == "options: classes, fraction, seed, center_crop, flip, balance"
    described = describe_options({**UNLABELLED_OPTIONS, "center_crop": 178})
    assert described == "options: fraction, seed, center_crop (default 178), flip"
