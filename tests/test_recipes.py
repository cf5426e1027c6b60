"""Every committed recipe resolves to a valid run configuration, without training, so recipes never rot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ganbench.config import read_config_file, resolve_config
from ganbench.data.identity import data_identity, experiment_name
from ganbench.errors import ConfigError
from tests.conftest import REPO

RECIPES = sorted((REPO / "recipes").rglob("*.toml"))
CPU_RECIPES = [path for path in RECIPES if path.parent.name == "cpu"]


def _resolved(path: Path, registry, **flags):
    return resolve_config(registry, read_config_file(path), flags).config


def test_there_are_paper_and_cpu_recipes_for_the_models_of_the_studies() -> None:
    names = {(path.parent.name, path.stem) for path in RECIPES}
    for model in ("dcgan", "wgan-gp", "sngan", "sagan", "cgan-pd", "acgan"):
        assert ("cifar10", model) in names and ("cpu", model) in names


@pytest.mark.parametrize("path", RECIPES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_recipe_resolves_and_states_its_source_and_expected_result(path: Path, registry) -> None:
    config = _resolved(path, registry)
    text = path.read_text()
    assert text.startswith("#") and "ganbench run --config recipes/" in text  # how to run it
    if path.parent.name == "cifar10":
        # the published CIFAR-10 protocols draw 50k images (vs train) or 10k (vs the 10k test images)
        assert config.dataset == "cifar10" and config.eval_samples in (10_000, 50_000)
        assert "Published" in text or "No published FID applies" in text
        assert f"{config.eval_samples // 1000}k generated" in text, "the sample count it was published with"


@pytest.mark.parametrize("path", CPU_RECIPES, ids=lambda path: path.name)
def test_a_cpu_recipe_on_the_jpeg_copy_says_so_in_its_protocol(path: Path, registry) -> None:
    config = _resolved(path, registry)
    assert config.dataset == "imagefolder" and Path(config.data_dir).name == "cifar10-jpeg"
    assert config.reference_split == "test" and config.eval_samples >= 5000 and config.reference_samples == 0
    assert experiment_name(config, registry) == "imagefolder:cifar10-jpeg"
    copy = REPO / config.data_dir  # the recipes run from the repository root
    if not copy.is_dir():
        pytest.skip(f"{copy} is not here (it is in ../shared beside the checkout): its fingerprint is not checked")
    reference = data_identity(dataclasses.replace(config, data_dir=str(copy)), registry, "test", reference=True)
    assert reference.describe().startswith("imagefolder:cifar10-jpeg/test (files ")


def test_an_unknown_key_in_a_recipe_is_refused_naming_it(tmp_path: Path, registry) -> None:
    broken = tmp_path / "sngan.toml"
    broken.write_text((REPO / "recipes" / "cifar10" / "sngan.toml").read_text().replace("n-disc = 5", "n-discs = 5"))
    with pytest.raises(ConfigError, match="Unknown setting 'n_discs' in the config file. Did you mean 'n_disc'"):
        _resolved(broken, registry)


def test_an_unknown_model_option_in_a_recipe_is_refused_naming_it(tmp_path: Path, registry) -> None:
    broken = tmp_path / "sngan.toml"
    broken.write_text((REPO / "recipes" / "cifar10" / "sngan.toml").read_text().replace("width = 128", "widht = 128"))
    with pytest.raises(ConfigError, match="widht"):
        _resolved(broken, registry)
