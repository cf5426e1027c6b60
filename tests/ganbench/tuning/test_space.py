import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ganbench.config import RunConfig, resolve_config
from ganbench.errors import ConfigError
from ganbench.tuning.space import (
    GENERIC_SPACE,
    NO_AUGMENTATION,
    apply_params,
    build_space,
    parse_distribution,
    read_space_file,
)


def _config(registry, **flags) -> RunConfig:
    return resolve_config(registry, {}, flags).config


def test_generic_keys_then_the_model_loss_and_regularizers_own(registry):
    config = _config(registry, model="wgan-gp")
    space = build_space(config, registry, {})
    keys = set(space.distributions)
    assert set(GENERIC_SPACE) <= keys
    assert space.distributions["beta2"] == registry.get("model", "wgan-gp").search_space["beta2"]  # the model's own
    assert "model_options.norm" in keys and "reg_options.gp.weight" in keys
    bce = _config(registry, model="dcgan")
    assert "loss_options.label_smoothing" in build_space(bce, registry, {}).distributions


def test_augment_offers_only_augmentations_the_model_can_take_and_their_options_only_when_chosen(registry):
    space = build_space(_config(registry, model="dcgan"), registry, {})
    assert space.distributions["augment"].choices == (NO_AUGMENTATION, "ada", "diffaugment")
    assert "reg_options.diffaugment.policy" in space.augmentations["diffaugment"]
    assert "reg_options.diffaugment.policy" not in space.distributions
    already = build_space(_config(registry, model="dcgan", reg=["diffaugment"]), registry, {})
    assert "augment" not in already.distributions and "reg_options.diffaugment.policy" in already.distributions


def test_overrides_replace_ranges_and_fix_values(registry):
    overrides = {"lr_g": {"low": 1e-4, "high": 1e-3, "log": True}, "batch_size": {"choices": [16]}, "beta1": 0.5}
    space = build_space(_config(registry), registry, overrides)
    assert space.distributions["lr_g"] == FloatDistribution(1e-4, 1e-3, log=True)
    assert space.distributions["batch_size"] == CategoricalDistribution((16,))
    assert "beta1" not in space.distributions and space.fixed == {"beta1": 0.5}
    assert space.describe()["beta1"] == "fixed 0.5"


@pytest.mark.parametrize(
    ("key", "reason"),
    [("seed", "defines the comparison"), ("steps", "defines the comparison"), ("lr_gen", "no such setting")],
)
def test_keys_that_cannot_be_searched_are_refused_with_the_reason(registry, key, reason):
    with pytest.raises(ConfigError, match=f"names '{key}'.*{reason}"):
        build_space(_config(registry), registry, {key: 1})


def test_ranges_parse_to_the_matching_distribution():
    assert parse_distribution("n_disc", {"low": 1, "high": 5}) == IntDistribution(1, 5)
    assert parse_distribution("lr", {"low": 1e-5, "high": 1e-3, "log": True}) == FloatDistribution(1e-5, 1e-3, log=True)
    assert parse_distribution("w", {"choices": ["a", "b"]}) == CategoricalDistribution(("a", "b"))
    for bad in ({"low": 1}, {"choices": []}, {"low": 1, "high": 2, "scale": "log"}, {"low": 2.0, "high": 1.0}):
        with pytest.raises(ConfigError, match="search range of 'x' is invalid"):
            parse_distribution("x", bad)


def test_a_space_file_holds_one_space_table(tmp_path):
    good = tmp_path / "space.toml"
    good.write_text("[space]\nlr_g = { low = 1e-5, high = 1e-3, log = true }\nbeta1 = 0.5\n")
    assert read_space_file(good) == {"lr_g": {"low": 1e-5, "high": 1e-3, "log": True}, "beta1": 0.5}
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr_g: 0.1\n")
    with pytest.raises(ConfigError, match=r"one table, \[space\]"):
        read_space_file(bad)


def test_params_become_run_flags_merged_into_the_option_tables(registry):
    config = _config(registry, model="wgan-gp", model_options={"width": 32})
    flags = apply_params(
        config,
        {"lr_g": 1e-4, "model_options.norm": "layer", "reg_options.gp.weight": 5.0, "augment": "diffaugment"},
    )
    assert flags["lr_g"] == 1e-4
    assert flags["model_options"] == {"width": 32, "norm": "layer"}
    assert flags["reg_options"]["gp.weight"] == 5.0
    assert flags["reg"] == ["gp", "diffaugment"]
    trial = resolve_config(registry, {}, {"model": "wgan-gp", **flags}).config
    assert trial.reg == ["gp", "diffaugment"] and trial.model_options["norm"] == "layer"
    assert "reg" not in apply_params(config, {"augment": NO_AUGMENTATION})
