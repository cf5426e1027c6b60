import dataclasses

import pytest

from ganbench import DatasetSpec, hookimpl
from ganbench.config import RunConfig
from ganbench.data.identity import dataset_key
from ganbench.registry import build_registry


def _versioned(version: str):
    class Plugin:
        @hookimpl
        def ganbench_datasets(self):
            return [
                DatasetSpec("versioned", "test data", build=lambda request: None, options={"seed": 0}, version=version)
            ]

    return Plugin()


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_plugins=(_versioned("1"),))


def test_spelling_out_a_default_option_keys_the_same_images(registry) -> None:
    config = RunConfig(dataset="versioned")
    explicit = dataclasses.replace(config, dataset_options={"seed": 0})
    assert dataset_key(config, registry, "train") == dataset_key(explicit, registry, "train")
    other = dataclasses.replace(config, dataset_options={"seed": 1})
    assert dataset_key(other, registry, "train") != dataset_key(config, registry, "train")


def test_a_new_dataset_version_keys_other_images(registry) -> None:
    config = RunConfig(dataset="versioned")
    bumped = build_registry(extra_plugins=(_versioned("2"),))
    assert dataset_key(config, registry, "train") != dataset_key(config, bumped, "train")


def test_splits_resolutions_and_data_dirs_key_other_images(registry, tmp_path) -> None:
    config = RunConfig(dataset="versioned")
    key = dataset_key(config, registry, "train")
    assert key != dataset_key(config, registry, "test")
    assert key != dataset_key(dataclasses.replace(config, resolution=64), registry, "train")
    assert key != dataset_key(dataclasses.replace(config, data_dir=str(tmp_path)), registry, "train")


def _recording_flip_dataset(requests: list):
    import torch

    from ganbench.data.images import TensorImageDataset

    def build(request):
        requests.append(request)
        count = 8 if request.options["flip"] else 4
        return TensorImageDataset(torch.zeros(count, 3, 4, 4, dtype=torch.uint8), torch.zeros(count), ["a"], 4)

    class Plugin:
        @hookimpl
        def ganbench_datasets(self):
            options = {"flip": False, "seed": 0}
            return [DatasetSpec("flips", "test data", build, options=options, training_only_options=("flip",))]

    return Plugin()


def test_reference_images_leave_out_the_options_that_only_shape_training_data() -> None:
    from ganbench.training.assembly import load_dataset

    requests: list = []
    registry = build_registry(extra_plugins=(_recording_flip_dataset(requests),))
    config = RunConfig(dataset="flips", dataset_options={"flip": True, "seed": 3})
    assert len(load_dataset(config, registry, "train")) == 8
    assert len(load_dataset(config, registry, "train", reference=True)) == 4
    assert requests[-1].options == {"flip": False, "seed": 3}  # other options still apply
    train_key = dataset_key(config, registry, "train")
    assert dataset_key(config, registry, "train", reference=True) != train_key
    plain = dataclasses.replace(config, dataset_options={"seed": 3})
    assert dataset_key(config, registry, "train", reference=True) == dataset_key(plain, registry, "train")
