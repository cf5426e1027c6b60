from pathlib import Path

import pytest
import torch

from ganbench import ModelSpec, hookimpl
from ganbench.config import RunConfig, flat_params, read_config_file, resolve_config
from ganbench.errors import ConfigError, GanbenchError, PluginError
from ganbench.registry import build_registry
from tests.support import fast_plugin


class _PaperModel:
    @hookimpl
    def ganbench_models(self):
        return [
            ModelSpec(
                "paper-model",
                "test model with paper defaults",
                build=lambda request: None,
                resolutions=(32, 64),
                defaults={"lr_g": 1e-3, "lr_d": 3e-3, "n_disc": 5},
                options={"width": 64},
            )
        ]


@pytest.fixture(scope="module")
def paper_registry():
    return build_registry(extra_plugins=(_PaperModel(),))


def test_layers_apply_in_order_defaults_paper_file_flags(paper_registry, tmp_path: Path):
    config_file = tmp_path / "run.toml"
    config_file.write_text('model = "paper-model"\nlr-d = 5e-4\nseed = 7\n[model_options]\nwidth = 32\n')
    resolved = resolve_config(paper_registry, read_config_file(config_file), {"seed": 9})
    config = resolved.config
    assert config.batch_size == RunConfig().batch_size  # ganbench default
    assert config.lr_g == 1e-3 and config.n_disc == 5  # paper default
    assert config.lr_d == 5e-4  # file beats paper
    assert config.seed == 9  # flag beats file
    assert config.model_options == {"width": 32}
    assert resolved.sources["lr_g"] == "paper-model paper defaults"
    assert resolved.sources["seed"] == "command line"
    assert "lr_d = 0.0005 (config file)" in resolved.short()


def test_yaml_file_is_read(tmp_path: Path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("steps: 20\nmetrics: [fid]\n")
    assert read_config_file(config_file) == {"steps": 20, "metrics": ["fid"]}


@pytest.mark.parametrize(
    ("flags", "field", "allowed"),
    [
        ({"lr_g": -1e-4}, "lr_g", "greater than 0"),
        ({"batch_size": 0}, "batch_size", "greater than 0"),
        ({"beta1": 1.5}, "beta1", r"\[0, 1\)"),
        ({"resolution": 48}, "resolution", "32, 64"),
        ({"reference_split": "valid"}, "reference_split", "shapes has the splits train, test"),
        ({"steps": "many"}, "steps", "not a valid int"),
    ],
)
def test_invalid_values_name_the_field_and_what_is_allowed(flags, field, allowed):
    with pytest.raises(ConfigError, match=rf"{field}.*{allowed}"):
        resolve_config(build_registry(), {}, flags)


def test_unknown_names_are_refused_before_any_work():
    with pytest.raises(PluginError, match="Unknown model 'stylegan9'"):
        resolve_config(build_registry(), {}, {"model": "stylegan9"})
    with pytest.raises(PluginError, match="Unknown metric 'fdi'.*Did you mean 'fid'"):
        resolve_config(build_registry(), {}, {"metrics": ["fdi"]})


def test_unknown_setting_in_a_file_suggests_the_closest(tmp_path: Path):
    config_file = tmp_path / "run.toml"
    config_file.write_text("learning_rate_g = 1\nbatchsize = 3\n")
    with pytest.raises(ConfigError, match="Unknown setting 'learning_rate_g'"):
        resolve_config(build_registry(), read_config_file(config_file), {})


def test_model_options_are_checked_and_typed(paper_registry):
    config = resolve_config(paper_registry, {}, {"model": "paper-model", "model_options": {"width": "16"}}).config
    assert config.model_options == {"width": 16}
    with pytest.raises(ConfigError, match="paper-model has no option 'depth'. Its options: width"):
        resolve_config(paper_registry, {}, {"model": "paper-model", "model_options": {"depth": "3"}})
    with pytest.raises(ConfigError, match="must be a int"):
        resolve_config(paper_registry, {}, {"model": "paper-model", "model_options": {"width": "wide"}})


class _Unlabelled:
    @hookimpl
    def ganbench_datasets(self):
        from ganbench import DatasetSpec

        return [DatasetSpec("unlabelled", "no labels", build=lambda request: None, labelled=False)]


def test_conditional_model_on_unlabelled_data_is_refused():
    with pytest.raises(ConfigError, match="cdcgan is class-conditional but unlabelled has no labels"):
        resolve_config(build_registry(extra_plugins=(_Unlabelled(),)), {}, {"model": "cdcgan", "dataset": "unlabelled"})


def test_a_metric_whose_extractor_learns_from_labels_needs_a_labelled_dataset():
    registry = build_registry(extra_plugins=(_Unlabelled(),))
    with pytest.raises(
        ConfigError, match="proxy-fid reads the proxy extractor, which learns from the training split's"
    ):
        resolve_config(registry, {}, {"dataset": "unlabelled", "metrics": ["fid", "proxy-fid"]})
    assert resolve_config(registry, {}, {"dataset": "unlabelled", "metrics": ["fid"]}).config.metrics == ["fid"]


def test_bad_config_files_are_clear_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(broken)
    other = tmp_path / "run.ini"
    other.write_text("x")
    with pytest.raises(ConfigError, match="unknown format"):
        read_config_file(other)


def test_params_flatten_option_tables():
    config = RunConfig(model_options={"width": 32})
    params = flat_params(config)
    assert params["model_options.width"] == "32" and params["metrics"] == "fid,kid,is"


class _RegularizedModel:
    @hookimpl
    def ganbench_models(self):
        return [
            ModelSpec(
                "regularized-model",
                "test model whose paper uses a regularizer",
                build=lambda request: None,
                resolutions=(32,),
                defaults={"reg": ["record"], "reg_options": {"record.weight": 2.0}},
                options={"spectral_norm": False},
            )
        ]


@pytest.fixture(scope="module")
def reg_registry():
    return build_registry(extra_plugins=(fast_plugin, _RegularizedModel()))


def test_regularizer_options_come_from_the_paper_a_file_or_flags(reg_registry, tmp_path: Path):
    model = {"model": "regularized-model"}
    assert resolve_config(reg_registry, {}, model).config.reg_options == {"record.weight": 2.0}
    config_file = tmp_path / "run.toml"
    config_file.write_text("[reg_options.record]\nweight = 5\n")  # a nested table is the same as record.weight
    from_file = resolve_config(reg_registry, read_config_file(config_file), model).config
    assert from_file.reg_options == {"record.weight": 5}
    from_flag = resolve_config(reg_registry, {}, {**model, "reg_options": {"record.weight": "7.5"}}).config
    assert from_flag.reg_options == {"record.weight": 7.5}  # typed like the declared default


def test_swapping_out_the_papers_regularizer_drops_its_options(reg_registry):
    config = resolve_config(reg_registry, {}, {"model": "regularized-model", "reg": []}).config
    assert config.reg == [] and config.reg_options == {}


def test_regularizer_mistakes_are_refused_before_any_work(reg_registry):
    with pytest.raises(PluginError, match="Unknown regularizer 'gpp'"):
        resolve_config(reg_registry, {}, {"reg": ["gpp"]})
    with pytest.raises(ConfigError, match="sets record.weight, but 'record' is not among the regularizers in use"):
        resolve_config(reg_registry, {}, {"reg_options": {"record.weight": 1.0}})
    with pytest.raises(ConfigError, match="record has no option 'lambda'"):
        resolve_config(reg_registry, {}, {"reg": ["record"], "reg_options": {"record.lambda": 1.0}})
    with pytest.raises(ConfigError, match="names a regularizer twice"):
        resolve_config(reg_registry, {}, {"reg": ["record", "record"]})


def test_a_regularizer_that_conflicts_with_the_model_is_refused(reg_registry):
    flags = {"model": "regularized-model", "model_options": {"spectral_norm": True}}
    with pytest.raises(ConfigError, match="record cannot train regularized-model as configured: .*spectral_norm"):
        resolve_config(reg_registry, {}, flags)


def test_an_exponential_schedule_needs_an_end_above_zero():
    with pytest.raises(ConfigError, match="lr_end_factor = 0 is invalid for the exponential schedule"):
        resolve_config(build_registry(), {}, {"lr_schedule": "exponential", "lr_end_factor": 0.0})
    config = resolve_config(build_registry(), {}, {"lr_schedule": "exponential"}).config
    assert config.lr_end_factor is None  # the schedule's own default end (0.01) applies
    with pytest.raises(ConfigError, match="lr_schedule = step is invalid: it must be one of constant"):
        resolve_config(build_registry(), {}, {"lr_schedule": "step"})


def test_field_roles_do_not_contradict_each_other() -> None:
    from ganbench.config import BOOKKEEPING_FIELDS, IDENTITY_FIELDS, SEARCHABLE_FIELDS

    # what a checkpoint holds cannot be mere bookkeeping, and bookkeeping is nothing a search could tune
    assert set(IDENTITY_FIELDS) & BOOKKEEPING_FIELDS == set()
    assert BOOKKEEPING_FIELDS & SEARCHABLE_FIELDS == set()


def test_an_extractor_option_reaches_its_extractor_and_inception_weights_is_its_shorthand(registry, tmp_path):
    from ganbench.config import extractor_options
    from ganbench.training.assembly import build_evaluator, load_dataset

    weights = str(tmp_path / "missing.pth")
    given = {"metrics": "fid", "results_dir": str(tmp_path), "dataset_options": {"size": 256}}
    for flags in ({"extractor_options": {"inception-v3-compat.weights": weights}}, {"inception_weights": weights}):
        config = resolve_config(registry, {}, {**given, **flags}).config
        assert extractor_options(config) == {"inception-v3-compat": {"weights": weights}}
        evaluator = build_evaluator(config, registry, load_dataset(config, registry, "train"), torch.device("cpu"))
        with pytest.raises(GanbenchError, match=f"weights file {weights} does not exist"):
            evaluator.extractor("inception-v3-compat")


def test_extractor_options_are_checked_against_what_the_extractor_declares(registry):
    with pytest.raises(ConfigError, match=r"inception-v3-compat has no option 'weight'\. Its options: weights"):
        resolve_config(registry, {}, {"extractor_options": {"inception-v3-compat.weight": "x.pth"}})
    with pytest.raises(ConfigError, match="name two weights files"):
        resolve_config(
            registry, {}, {"inception_weights": "a.pth", "extractor_options": {"inception-v3-compat.weights": "b.pth"}}
        )
    with pytest.raises(PluginError, match="inception-v4"):
        resolve_config(registry, {}, {"extractor_options": {"inception-v4.weights": "x.pth"}})
