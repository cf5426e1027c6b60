from pathlib import Path

import pytest

from ganbench import DatasetSpec, ModelSpec, hookimpl
from ganbench.errors import PluginError
from ganbench.registry import HOOKS, build_registry


class _Plugin:
    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    @hookimpl
    def ganbench_models(self):
        return [ModelSpec(self.model_name, "test model", build=lambda request: None, resolutions=(32,))]


def test_first_party_plugins_are_found_through_entry_points():
    registry = build_registry()
    assert {"dcgan", "cdcgan"} <= set(registry.names("model"))
    assert {"shapes", "mnist", "imagefolder"} <= set(registry.names("dataset"))
    assert "bce" in registry.names("loss")
    assert {"fid", "kid", "is"} <= set(registry.names("metric"))
    assert "inception-v3-compat" in registry.names("feature extractor")
    assert "ganbench_plugins.dcgan" in registry.entries("model")["dcgan"].source


def test_two_plugins_registering_one_name_is_an_error_naming_both():
    registry = build_registry(extra_plugins=(_Plugin("twin"), _Plugin("twin")))
    with pytest.raises(PluginError, match="Two plugins register the model 'twin'") as error:
        registry.names("model")
    assert str(error.value).count("registered in-process") == 2


def test_a_plugin_cannot_take_a_first_party_name():
    with pytest.raises(PluginError, match="dcgan"):
        build_registry(extra_plugins=(_Plugin("dcgan"),)).get("model", "dcgan")


def test_unknown_name_lists_known_ones_and_the_closest():
    with pytest.raises(PluginError) as error:
        build_registry().get("model", "dcgn")
    message = str(error.value)
    assert "Unknown model 'dcgn'" in message and "Did you mean 'dcgan'" in message and "cdcgan" in message


def test_a_broken_third_party_plugin_is_named(tmp_path: Path, monkeypatch):
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ganbench]\nbroken = module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError, match=r"'broken' \(module_that_does_not_exist, from broken-plugin 1.0\) failed to import"
    ):
        build_registry()


def test_every_kind_has_a_hook():
    registry = build_registry()
    for kind in HOOKS:
        assert registry.names(kind), f"no first-party {kind}"


def test_a_dataset_plugin_registers_alongside(tmp_path: Path):
    class DataPlugin:
        @hookimpl
        def ganbench_datasets(self):
            return [DatasetSpec("extra-data", "test data", build=lambda request: None)]

    registry = build_registry(extra_plugins=(DataPlugin(),))
    assert registry.get("dataset", "extra-data").description == "test data"
    assert "shapes" in registry.names("dataset")


def test_every_installed_component_describes_itself_in_one_line():
    registry = build_registry()
    for kind in ("model", "dataset", "loss", "regularizer", "feature extractor", "metric"):
        for name, entry in registry.entries(kind).items():
            description = entry.spec.description
            assert description and "\n" not in description and len(description) <= 200, (kind, name)
