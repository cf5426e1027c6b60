"""A search's hyperparameter space: generic keys, the plugins' own, and the user's overrides.

Keys name what they set:

- a run-config field, e.g. ``lr_g`` or ``batch_size``;
- ``model_options.KEY``, ``loss_options.KEY``, ``reg_options.REG.KEY``: a plugin's option;
- ``augment``: ``none`` or the name of a regularizer that augments D's inputs, added to the run's
  (offered only when none of the run's regularizers augments: two are refused).

Plugins declare their spaces with bare option names (``ModelSpec.search_space`` may also name
config fields); here they get the prefix of the table they belong to. A user's space file
(TOML or YAML, a ``[space]`` table) replaces a key's range or fixes its value::

    [space]
    lr_g = { low = 1e-5, high = 1e-3, log = true }
    batch_size = { choices = [32, 64] }
    n_disc = { low = 1, high = 5 }      # whole numbers: an integer range
    beta1 = 0.5                         # fixed: not searched
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from ganbench.config import (
    FIELDS,
    SEARCHABLE_FIELDS,
    RunConfig,
    grouped_options,
    read_structured_file,
    regularizer_conflict,
)
from ganbench.errors import ConfigError
from ganbench.registry import Registry

NO_AUGMENTATION = "none"
# What every GAN's search varies; a model's own space replaces any of these keys.
GENERIC_SPACE: dict[str, BaseDistribution] = {
    "lr_g": FloatDistribution(1e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(1e-5, 1e-3, log=True),
    "batch_size": CategoricalDistribution((32, 64, 128)),
    "n_disc": IntDistribution(1, 5),
    "ema_decay": CategoricalDistribution((0.0, 0.99, 0.999)),
}
OPTION_PREFIXES = ("model_options.", "loss_options.", "reg_options.")


@dataclass(frozen=True)
class SearchSpace:
    """Distributions to sample per key, and values fixed by the user."""

    distributions: dict[str, BaseDistribution]
    fixed: dict[str, Any]
    # the regularizers that augment D's inputs: the choices of ``augment``, each with its own space
    augmentations: dict[str, dict[str, BaseDistribution]]

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """One point, define-by-run: an augmentation's options are sampled only when it is chosen."""
        params = dict(self.fixed)
        for key, distribution in self.distributions.items():
            params[key] = suggest(trial, key, distribution)
        augment = params.get("augment", NO_AUGMENTATION)
        for key, distribution in self.augmentations.get(augment, {}).items():
            if key not in self.fixed:
                params[key] = suggest(trial, key, distribution)
        return params

    def baseline(self, config: RunConfig, registry: Registry) -> dict[str, Any]:
        """The values ``config`` (the paper's defaults, the user's settings) gives the searched keys, where
        they lie in the searched ranges."""
        values = {key: configured_value(config, registry, key) for key in self.distributions}
        return {key: value for key, value in values.items() if _within(self.distributions[key], value)}

    def describe(self) -> dict[str, str]:
        """Every key and its range or fixed value, for the study's MLflow params."""
        shown = {key: _describe(distribution) for key, distribution in self.distributions.items()}
        for options in self.augmentations.values():
            shown.update({key: f"{_describe(d)} (with its augmentation)" for key, d in options.items()})
        shown.update({key: f"fixed {value!r}" for key, value in self.fixed.items()})
        return shown


def configured_value(config: RunConfig, registry: Registry, key: str) -> Any:
    """What a run of ``config`` uses for a search key (plugins' default options filled in)."""
    table, _, option = key.partition(".")
    if key == "augment":
        return NO_AUGMENTATION
    if table == "model_options":
        return {**registry.get("model", config.model).options, **config.model_options}.get(option)
    if table == "loss_options":
        return {**registry.get("loss", config.loss).options, **config.loss_options}.get(option)
    if table == "reg_options":
        name, _, reg_option = option.partition(".")
        defaults = registry.get("regularizer", name).options if name in config.reg else {}
        return {**defaults, **grouped_options(config.reg_options).get(name, {})}.get(reg_option)
    return getattr(config, key, None)


def _within(distribution: BaseDistribution, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    assert isinstance(distribution, (FloatDistribution, IntDistribution))
    return isinstance(value, (int, float)) and distribution.low <= value <= distribution.high


def suggest(trial: optuna.Trial, key: str, distribution: BaseDistribution) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(key, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(key, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    assert isinstance(distribution, FloatDistribution)
    return trial.suggest_float(key, distribution.low, distribution.high, step=distribution.step, log=distribution.log)


def _describe(distribution: BaseDistribution) -> str:
    if isinstance(distribution, CategoricalDistribution):
        return "one of " + ", ".join(map(str, distribution.choices))
    assert isinstance(distribution, (FloatDistribution, IntDistribution))
    scale = " (log)" if distribution.log else ""
    return f"{distribution.low} to {distribution.high}{scale}"


def build_space(config: RunConfig, registry: Registry, overrides: Mapping[str, Any]) -> SearchSpace:
    """The space of a search on ``config`` (its model, loss and regularizers), with the user's overrides."""
    model = registry.get("model", config.model)
    loss = registry.get("loss", config.loss)
    distributions: dict[str, BaseDistribution] = {**GENERIC_SPACE, **model.search_space}
    distributions.update({f"loss_options.{key}": d for key, d in loss.search_space.items()})
    for name in config.reg:
        spec = registry.get("regularizer", name)
        distributions.update({f"reg_options.{name}.{key}": d for key, d in spec.search_space.items()})
    augmented = any(registry.get("regularizer", name).augments for name in config.reg)  # at most one augments
    augmentations = {
        name: {f"reg_options.{name}.{key}": d for key, d in entry.spec.search_space.items()}
        for name, entry in sorted(registry.entries("regularizer").items())
        if entry.spec.augments and not augmented and regularizer_conflict(entry.spec, model, config) is None
    }
    if augmentations:
        distributions["augment"] = CategoricalDistribution((NO_AUGMENTATION, *augmentations))
    fixed: dict[str, Any] = {}
    known = set(distributions) | {key for options in augmentations.values() for key in options}
    for key, value in overrides.items():
        _check_key(key, known)
        if isinstance(value, Mapping):
            distributions[key] = parse_distribution(key, value)
        else:
            distributions.pop(key, None)
            fixed[key] = value
    return SearchSpace(distributions, fixed, augmentations)


def _check_key(key: str, known: set[str]) -> None:
    if key in known or key.startswith(OPTION_PREFIXES):
        return
    if key in SEARCHABLE_FIELDS:
        return
    reason = "it defines the comparison, not a hyperparameter" if key in FIELDS else "no such setting"
    raise ConfigError(
        f"The search space names {key!r}, which cannot be searched ({reason}). Searchable keys: run settings "
        f"such as {', '.join(sorted(GENERIC_SPACE))}; model_options.KEY, loss_options.KEY, reg_options.REG.KEY; "
        "augment. `ganbench plugins -v` lists each plugin's own."
    )


def parse_distribution(key: str, table: Mapping[str, Any]) -> BaseDistribution:
    """A range (``low``, ``high``, optional ``log`` and ``step``) or ``choices`` from a space file."""
    unknown = set(table) - {"low", "high", "log", "step", "choices"}
    try:
        if unknown:
            raise ValueError(f"unknown entries {', '.join(sorted(unknown))}")
        if "choices" in table:
            if set(table) != {"choices"} or not table["choices"]:
                raise ValueError("choices must be a non-empty list and stand alone")
            return CategoricalDistribution(tuple(table["choices"]))
        low, high = table["low"], table["high"]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, table.get("step", 1)))
        if whole:
            return IntDistribution(low, high, log=bool(table.get("log", False)), step=table.get("step", 1))
        return FloatDistribution(float(low), float(high), log=bool(table.get("log", False)), step=table.get("step"))
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"The search range of {key!r} is invalid ({exc}). Write {{ low = 1e-5, high = 1e-3, log = true }}, "
            "{ low = 1, high = 5 } for whole numbers, { choices = [32, 64] }, or a single value to fix it."
        ) from exc


def read_space_file(path: Path) -> dict[str, Any]:
    """The ``[space]`` table of a TOML or YAML file."""
    data = read_structured_file(path, "--space")
    unknown = set(data) - {"space"}
    if unknown or not isinstance(data.get("space", {}), Mapping):
        raise ConfigError(
            f"{path} must hold one table, [space], of keys and their ranges (found {', '.join(sorted(data))})."
        )
    return dict(data.get("space", {}))


def apply_params(config: RunConfig, params: Mapping[str, Any]) -> dict[str, Any]:
    """Run flags that set ``params`` on top of ``config``'s option tables and regularizers."""
    flags: dict[str, Any] = {}
    tables = {name: dict(getattr(config, name)) for name in ("model_options", "loss_options", "reg_options")}
    reg = list(config.reg)
    for key, value in params.items():
        table, _, option = key.partition(".")
        if table in tables:
            tables[table][option] = value
        elif key == "augment":
            if value != NO_AUGMENTATION:
                reg.append(value)
        else:
            flags[key] = value
    changed: dict[str, Any] = {name: table for name, table in tables.items() if table != getattr(config, name)}
    if reg != config.reg:
        changed["reg"] = reg
    return {**flags, **changed}
