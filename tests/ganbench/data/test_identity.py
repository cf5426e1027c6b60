"""A metric value knows which data it was measured against: two folders, or one dataset under other options,
are filed, described and ranked apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from ganbench import DatasetSpec, hookimpl
from ganbench.config import RunConfig
from ganbench.data.identity import REFERENCE_TAG, data_identity, dataset_key, experiment_name
from ganbench.registry import build_registry
from ganbench.tracking.leaderboard import load_leaderboards
from ganbench.tracking.runs import default_tracking_uri
from ganbench.training.runner import run
from tests.support import fast_plugin


def _folder(root: Path, colour: tuple[int, int, int], images: int = 24) -> Path:
    for index in range(images):
        path = root / ("a" if index % 2 else "b") / f"{index}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 20), tuple((c + 7 * index) % 256 for c in colour)).save(path)
    return root


def _train(registry, console, fast_flags: dict, folder: Path, **options: str) -> str:
    flags = {**fast_flags, "dataset": "imagefolder", "data_dir": str(folder), "dataset_options": options}
    flags.update(batch_size=8, eval_samples=16, reference_samples=16)
    return run(registry, flags, {}, None, console).run_id


def test_two_image_folders_trained_alike_are_filed_and_ranked_apart(registry, console, fast_flags, tmp_path):
    cards = _folder(tmp_path / "data" / "cards", (200, 40, 40))
    lesions = _folder(tmp_path / "other" / "lesions", (40, 40, 200))
    _train(registry, console, fast_flags, cards)
    _train(registry, console, fast_flags, lesions)
    uri = default_tracking_uri(Path(fast_flags["results_dir"]))
    boards = load_leaderboards(uri, "pixel-fid", registry, "imagefolder")
    assert [board.dataset for board in boards] == ["imagefolder:cards", "imagefolder:lesions"]
    (cards_protocol,), (lesions_protocol,) = ([r.protocol for r in board.rankings] for board in boards)
    assert "imagefolder:cards/train (files " in cards_protocol
    assert "imagefolder:lesions/train (files " in lesions_protocol
    # the same folder name elsewhere is still other data: its fingerprint tells them apart
    assert [len(board.rankings[0].rows) for board in boards] == [1, 1]
    only_cards = load_leaderboards(uri, "pixel-fid", registry, "imagefolder:cards")
    assert [board.dataset for board in only_cards] == ["imagefolder:cards"]


def test_one_folder_under_an_option_that_changes_its_images_is_ranked_apart(registry, console, fast_flags, tmp_path):
    cards = _folder(tmp_path / "cards", (200, 40, 40))
    colour = _train(registry, console, fast_flags, cards)
    grey = _train(registry, console, fast_flags, cards, channels="1")
    client = MlflowClient(default_tracking_uri(Path(fast_flags["results_dir"])))
    tags = {run_id: client.get_run(run_id).data.tags for run_id in (colour, grey)}
    assert tags[colour][REFERENCE_TAG].startswith("imagefolder:cards/train (files ")
    assert tags[grey][REFERENCE_TAG].startswith("imagefolder:cards[channels=1]/train (files ")
    assert tags[colour]["protocol.pixel-fid"] != tags[grey]["protocol.pixel-fid"]
    experiments = {client.get_experiment(client.get_run(r).info.experiment_id).name for r in (colour, grey)}
    assert experiments == {"imagefolder:cards", "imagefolder:cards[channels=1]"}
    boards = load_leaderboards(client.tracking_uri, "pixel-fid", registry, "imagefolder:cards")
    assert sorted(board.dataset for board in boards) == ["imagefolder:cards", "imagefolder:cards[channels=1]"]


def _toy_dataset(version: str = "1"):
    class Plugin:
        @hookimpl
        def ganbench_datasets(self):
            return [
                DatasetSpec(
                    "toy",
                    "test data",
                    build=lambda request: None,
                    options={"classes": "", "fraction": 1.0, "center_crop": None},
                    training_only_options=("fraction",),
                    version=version,
                ),
                DatasetSpec(
                    "mine",
                    "a user's folder",
                    build=lambda request: None,
                    fingerprint=lambda request: f"5eed{request.root.name}{request.split}",
                    user_folder=True,
                ),
            ]

    return build_registry(extra_plugins=(Plugin(), fast_plugin))


@pytest.fixture(scope="module")
def toy_registry():
    return _toy_dataset()


def test_image_changing_options_name_the_data_and_spelled_out_defaults_do_not(toy_registry) -> None:
    plain = RunConfig(dataset="toy")
    spelled = dataclasses.replace(plain, dataset_options={"classes": "", "center_crop": None})
    cats = dataclasses.replace(plain, dataset_options={"classes": "cat,dog"})
    assert data_identity(spelled, toy_registry, "test") == data_identity(plain, toy_registry, "test")
    assert data_identity(plain, toy_registry, "test").describe() == "toy/test"
    assert data_identity(cats, toy_registry, "test").describe() == "toy[classes=cat,dog]/test"
    assert experiment_name(cats, toy_registry) == "toy[classes=cat,dog]"
    assert experiment_name(dataclasses.replace(cats, experiment="mine"), toy_registry) == "mine"


def test_training_only_options_leave_the_reference_data_as_published(toy_registry) -> None:
    tenth = RunConfig(dataset="toy", dataset_options={"fraction": 0.1})
    assert data_identity(tenth, toy_registry, "test", reference=True).describe() == "toy/test"
    assert experiment_name(tenth, toy_registry) == "toy"


def test_a_new_dataset_version_is_other_data(toy_registry) -> None:
    config = RunConfig(dataset="toy")
    bumped = _toy_dataset("2")
    assert data_identity(config, bumped, "test").describe() == "toy/test v2"
    assert dataset_key(config, bumped, "test") != dataset_key(config, toy_registry, "test")


def test_a_users_folder_is_named_by_its_folder_and_identified_by_its_fingerprint(toy_registry, tmp_path) -> None:
    config = RunConfig(dataset="mine", data_dir=str(tmp_path / "cards"))
    identity = data_identity(config, toy_registry, "valid")
    assert identity.describe() == "mine:cards/valid (files 5eedcard)"
    assert identity.fingerprint == "5eedcardsvalid"
    assert experiment_name(config, toy_registry) == "mine:cards"
    assert dataset_key(config, toy_registry, "valid")["fingerprint"] == "5eedcardsvalid"
