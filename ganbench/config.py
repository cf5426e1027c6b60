"""The run configuration: one typed record, filled in layers.

Layers, later wins: ganbench's defaults -> the model's paper defaults -> a config file
(TOML or YAML) -> command-line flags. Every field declares its help text and its check
here, so the CLI, the config file and the Python API share one source of defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganbench.errors import ConfigError

Check = Callable[[Any], str | None]


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or greater"


def _unit_interval(value: Any) -> str | None:
    return None if 0 <= value < 1 else "must be in [0, 1)"


def _one_of(allowed: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


OPTIMIZERS = ("adam", "rmsprop")
LR_SCHEDULES = ("constant", "linear", "cosine", "exponential")
PRECISIONS = ("fp32", "bf16", "fp16")
SKETCHES = ("none", "edges")  # condition images derived from a dataset's images (see ganbench.data.conditions)
PAIRINGS = ("paired", "unpaired")
# how images reach a feature extractor's input size (see ganbench.evaluation.resize)
RESIZES = ("legacy-tf", "clean")


# --inception-weights predates extractor options and stays as their shorthand (runs and checkpoints keep it).
INCEPTION_WEIGHTS_OPTION = "inception-v3-compat.weights"


class Role(enum.Flag):
    """What a run setting is for, declared once on its field; the lists of fields by role derive from it."""

    NONE = 0
    IDENTITY = enum.auto()  # defines what a checkpoint holds: a resumed run may not change it
    BOOKKEEPING = enum.auto()  # names, places or logs a run without changing what it trains or how it is scored
    SEARCHABLE = enum.auto()  # a search may vary it (the others define the comparison or are bookkeeping)
    EVALUATION = enum.auto()  # shapes an evaluation: `ganbench eval` and `ganbench.evaluate` take it


IDENTITY, BOOKKEEPING, SEARCHABLE, EVALUATION = Role.IDENTITY, Role.BOOKKEEPING, Role.SEARCHABLE, Role.EVALUATION


def _option(default: Any, help: str, check: Check | None = None, cli: bool = True, roles: Role = Role.NONE) -> Any:
    metadata = {"help": help, "check": check, "cli": cli, "roles": roles}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class RunConfig:
    """Everything that defines a run. ``ganbench run --help`` lists the same fields."""

    # what to train
    model: str = _option("dcgan", "GAN architecture (see `ganbench plugins`).", roles=IDENTITY)
    dataset: str = _option(
        "shapes",
        "Dataset (see `ganbench plugins`); `shapes` is embedded and needs no files.",
        roles=IDENTITY | EVALUATION,
    )
    loss: str = _option("bce", "Adversarial loss (see `ganbench plugins`).", roles=IDENTITY | SEARCHABLE)
    data_dir: str | None = _option(
        None, "Folder holding the dataset's files (offline copy).", roles=BOOKKEEPING | EVALUATION
    )
    resolution: int = _option(
        32, "Image size in pixels (square); the model must support it.", _positive, roles=IDENTITY | EVALUATION
    )
    z_dim: int = _option(100, "Size of the generator's latent vector.", _positive, roles=IDENTITY | SEARCHABLE)
    model_options: dict = _option({}, "Model options as KEY=VALUE (see `ganbench plugins --verbose`).", roles=IDENTITY)
    dataset_options: dict = _option({}, "Dataset options as KEY=VALUE.", roles=IDENTITY | EVALUATION)
    loss_options: dict = _option({}, "Loss options as KEY=VALUE.", roles=IDENTITY)
    reg: list = _option(
        [], "Regularizers of D or G, comma-separated (see `ganbench plugins`), e.g. gp.", roles=IDENTITY
    )
    reg_options: dict = _option({}, "Regularizer options as REG.KEY=VALUE, e.g. gp.weight=100.", roles=IDENTITY)
    sketch: str = _option(
        "none",
        "Condition images for an image-conditioned model, derived from the dataset's images: none (the dataset's "
        "own, if any) or edges (each image's edge map).",
        _one_of(SKETCHES),
        roles=IDENTITY | SEARCHABLE,
    )
    pairing: str = _option(
        "paired",
        "Whose condition image each image gets: paired (its own) or unpaired (another image's of its class, "
        "chosen by the seed).",
        _one_of(PAIRINGS),
        roles=IDENTITY | SEARCHABLE,
    )
    # how to train
    steps: int = _option(1000, "Generator updates to train for.", _positive)
    batch_size: int = _option(64, "Images per batch, real and generated.", _positive, roles=SEARCHABLE)
    n_disc: int = _option(1, "Discriminator updates per generator update.", _positive, roles=SEARCHABLE)
    ema_decay: float = _option(
        0.0,
        "Evaluate an exponential moving average of G's weights with this decay (0: off; e.g. 0.999).",
        _unit_interval,
        roles=IDENTITY | SEARCHABLE,
    )
    ema_start: int = _option(
        0,
        "Generator steps before the average of --ema-decay starts; evaluations until then use G itself "
        "(BigGAN's and StudioGAN's ema_start: short runs need one, or the first steps' weights weigh on the average).",
        _non_negative,
        roles=IDENTITY | SEARCHABLE,
    )
    ema_rampup: float = _option(
        0.0,
        "Ramp the average's half-life up: after n averaged steps it is --ema-rampup * n steps until that reaches "
        "--ema-decay's (StyleGAN2's ema_rampup, e.g. 0.05; 0: the decay from the first step).",
        _non_negative,
        roles=IDENTITY | SEARCHABLE,
    )
    optimizer: str = _option(
        "adam", "Optimizer of both networks: adam or rmsprop.", _one_of(OPTIMIZERS), roles=IDENTITY | SEARCHABLE
    )
    lr_g: float = _option(2e-4, "Generator learning rate.", _positive, roles=SEARCHABLE)
    lr_d: float = _option(2e-4, "Discriminator learning rate.", _positive, roles=SEARCHABLE)
    lr_schedule: str = _option(
        "constant",
        "Learning-rate schedule of both networks over the run: " + ", ".join(LR_SCHEDULES) + ".",
        _one_of(LR_SCHEDULES),
        roles=IDENTITY | SEARCHABLE,
    )
    lr_end_factor: float | None = _option(
        None,
        "The scheduled learning rate at the last step, as a fraction of the first "
        "(default: 0 for linear and cosine, 0.01 for exponential).",
        _unit_interval,
        roles=IDENTITY | SEARCHABLE,
    )
    beta1: float = _option(0.5, "Adam beta1, both networks.", _unit_interval, roles=SEARCHABLE)
    beta2: float = _option(0.999, "Adam beta2, both networks.", _unit_interval, roles=SEARCHABLE)
    seed: int = _option(
        0, "Seed of data order, initialisation and sampling.", _non_negative, roles=BOOKKEEPING | EVALUATION
    )
    device: str = _option("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.", roles=EVALUATION)
    channels_last: bool = _option(
        True, "Channels-last memory format for conv nets (faster on CPUs and tensor cores).", roles=SEARCHABLE
    )
    precision: str = _option(
        "fp32",
        "Mixed precision, a GPU option: fp32 (off), bf16 or fp16 (autocast; fp16 with gradient scaling).",
        _one_of(PRECISIONS),
    )
    compile: bool = _option(
        False, "torch.compile G and D (can speed up GPU training; compiling takes a minute or so).", roles=BOOKKEEPING
    )
    workers: int = _option(
        0, "Data-loading worker processes (0: load in the training process).", _non_negative, roles=BOOKKEEPING
    )
    log_every: int = _option(50, "Log losses every N steps.", _positive, roles=BOOKKEEPING)
    # how to evaluate
    eval_every: int = _option(250, "Evaluate (metrics, sample grid, checkpoint) every N steps.", _positive)
    metrics: list = _option(
        ["fid", "kid", "is"], "Metrics to compute at each evaluation (comma-separated).", roles=EVALUATION
    )
    monitor: str | None = _option(
        None,
        "Metric that picks the best checkpoint (best.pt) and stops early (default: the first of --metrics).",
        roles=BOOKKEEPING,
    )
    patience: int = _option(
        0,
        "Stop when the monitored metric has not improved for this many evaluations (0: never; a report used 5).",
        _non_negative,
    )
    # 400 keeps the default job under 10 minutes on 2 CPU cores (Inception: ~10 images/s there);
    # such FIDs are biased upwards and only compare with runs of the same sample counts.
    eval_samples: int = _option(
        400, "Generated images per evaluation (the paper protocol uses 50000).", _positive, roles=EVALUATION
    )
    reference_samples: int = _option(
        400, "Reference images per evaluation (0: the whole split).", _non_negative, roles=EVALUATION
    )
    reference_split: str = _option(
        "train",
        "Dataset split the generated images are compared with (the dataset's splits).",
        roles=EVALUATION,
    )
    resize: str = _option(
        "legacy-tf",
        "How images are resized to a feature extractor's input: legacy-tf, the TensorFlow 1 bilinear resize of the "
        "original FID code and torch-fidelity; clean, clean-fid's antialiased PIL bicubic (Parmar et al. 2022). "
        "Values under different resizes never compare.",
        _one_of(RESIZES),
        roles=EVALUATION,
    )
    reference_stats: str | None = _option(
        None,
        "An .npz of reference statistics (mu, sigma of Inception pool3 features, as pytorch-fid, clean-fid and "
        "`ganbench stats export` write) that FID and FD∞ compare with, instead of the reference images; metrics "
        "that need the images' features are then unavailable. Its name and sha256 go into the protocol.",
        roles=EVALUATION,
    )
    extractor_options: dict = _option(
        {},
        "Feature-extractor options as EXTRACTOR.KEY=VALUE, e.g. inception-v3-compat.weights=/path/to/weights.pth "
        "(see `ganbench plugins --verbose`).",
        roles=BOOKKEEPING | EVALUATION,
    )
    inception_weights: str | None = _option(
        None,
        f"Local file of torch-fidelity's Inception weights (pt-inception-2015-12-05): short for "
        f"--extractor-option {INCEPTION_WEIGHTS_OPTION}=PATH.",
        roles=BOOKKEEPING | EVALUATION,
    )
    grid_size: int = _option(
        64,
        "Images in each sample grid (a class-conditional model's: rounded up to whole rows of its classes).",
        _positive,
        roles=BOOKKEEPING,
    )
    # where results go
    results_dir: str = _option(
        "results", "Home of the MLflow store, checkpoints and caches.", roles=BOOKKEEPING | EVALUATION
    )
    tracking_uri: str | None = _option(
        None,
        "MLflow tracking URI (default: MLFLOW_TRACKING_URI, else SQLite under results_dir).",
        roles=BOOKKEEPING | EVALUATION,
    )
    experiment: str | None = _option(
        None,
        "MLflow experiment (default: the dataset's name, with the image-changing options set away from their "
        "defaults, e.g. cifar10[classes=cat,dog]; imagefolder:<folder name> for a folder of your own).",
        roles=BOOKKEEPING,
    )
    run_name: str | None = _option(None, "MLflow run name (default: model-dataset-seed).", roles=BOOKKEEPING)


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(RunConfig)}
DEFAULTS = RunConfig()
# each field's type, from its annotation with None taken out (``float | None`` -> float)
FIELD_TYPES: dict[str, type] = {
    name: next(arg for arg in typing.get_args(hint) or (hint,) if arg is not type(None))
    for name, hint in typing.get_type_hints(RunConfig).items()
}
NULLABLE_FIELDS = frozenset(
    name for name, hint in typing.get_type_hints(RunConfig).items() if type(None) in typing.get_args(hint)
)
OPTION_FIELDS = ("model_options", "dataset_options", "loss_options", "reg_options", "extractor_options")
# options given as NAME.KEY=VALUE, a plugin's name first (a file may nest them: [reg_options.gp] weight = 10)
NAMED_OPTION_FIELDS = ("reg_options", "extractor_options")


def fields_with(role: Role) -> tuple[str, ...]:
    """The names of the fields declaring ``role``, in declaration order."""
    return tuple(name for name, spec in FIELDS.items() if role in spec.metadata["roles"])


IDENTITY_FIELDS = fields_with(IDENTITY)
BOOKKEEPING_FIELDS = frozenset(fields_with(BOOKKEEPING))
SEARCHABLE_FIELDS = frozenset(fields_with(SEARCHABLE))
EVAL_SETTINGS = fields_with(EVALUATION)
# The checkpoints every run keeps: as it ended, and at its best evaluation by --monitor.
RUN_CHECKPOINTS = ("last", "best")


def checkpoint_file(which: str) -> str:
    """Where a run keeps its ``which`` checkpoint (one of RUN_CHECKPOINTS): in its run folder and as an artifact."""
    return f"checkpoints/{which}.pt"


@dataclass(frozen=True)
class ResolvedConfig:
    """A validated config and, for every value not at ganbench's default, the layer it came from."""

    config: RunConfig
    sources: dict[str, str]

    def short(self) -> str:
        """One line per non-default value, e.g. ``lr_g = 0.0001 (flag)``."""
        values = as_dict(self.config)
        return "\n".join(f"{name} = {_show(values[name])} ({source})" for name, source in self.sources.items())


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def as_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def flat_params(config: RunConfig) -> dict[str, str]:
    """The config as MLflow params: nested option tables become ``model_options.width``."""
    params: dict[str, str] = {}
    for name, value in as_dict(config).items():
        if isinstance(value, dict):
            params.update({f"{name}.{key}": _show(item) for key, item in value.items()})
        else:
            params[name] = _show(value)
    return params


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML config file into field values (dashes in keys are allowed)."""
    data = read_structured_file(path, "--config")
    return {key.replace("-", "_"): value for key, value in data.items()}


def read_structured_file(path: Path, option: str) -> dict[str, Any]:
    """The table a TOML or YAML file holds; errors name ``option``, the flag that passed the file."""
    if not path.is_file():
        raise ConfigError(f"File {path} does not exist. Pass the path of a .toml or .yaml file to {option}.")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"File {path} ({option}) has an unknown format: use a .toml, .yaml or .yml file.")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"File {path} ({option}) is not valid {path.suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"File {path} ({option}) must hold a table (key = value), not {type(data).__name__}.")
    return data


def apply_layer(values: dict[str, Any], layer: Mapping[str, Any], source: str, sources: dict[str, str]) -> None:
    """Overlay ``layer`` on ``values`` in place, coercing types and naming unknown keys."""
    for key, raw in layer.items():
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"Unknown setting {key!r} in the {source}.{hint} `ganbench run --help` lists every setting."
            )
        value = coerce(key, raw, source)
        if key in OPTION_FIELDS:
            value = {**values[key], **value}
        values[key] = value
        sources[key] = source


def coerce(name: str, raw: Any, source: str) -> Any:
    """Convert ``raw`` to the declared type of field ``name`` (strings from flags included)."""
    kind = FIELD_TYPES[name]
    if raw is None and name in NULLABLE_FIELDS:
        return None
    try:
        if (
            raw is None
            or (kind is not dict and isinstance(raw, dict))
            or (kind not in (list, dict) and isinstance(raw, list))
        ):
            raise TypeError
        if kind is bool:
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is list:
            items = raw.split(",") if isinstance(raw, str) else raw
            return [str(item).strip() for item in items if str(item).strip()]
        if kind is dict:
            return _flatten(dict(raw)) if name in NAMED_OPTION_FIELDS else dict(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} = {raw!r} (from the {source}) is not a valid {kind.__name__}.") from exc


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    """Nested regularizer options from a file (``[reg_options.gp] weight = 100``) as ``gp.weight``."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{option}": item for option, item in value.items()})
        else:
            flat[key] = value
    return flat


def grouped_options(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Options given as NAME.KEY, by plugin: ``{"gp.weight": 10}`` -> ``{"gp": {"weight": 10}}``."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        name, _, option = key.rpartition(".")
        grouped.setdefault(name, {})[option] = value
    return grouped


def validate_fields(config: RunConfig) -> None:
    """Run every field's own check; the first failure names the field and what is allowed."""
    for name, spec in FIELDS.items():
        check = spec.metadata.get("check")
        value = getattr(config, name)
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"{name} = {_show(value)} is invalid: it {problem}.")
    if config.ema_start and not config.ema_decay:
        raise ConfigError(
            f"ema_start = {config.ema_start} is invalid without an average: pass --ema-decay too (e.g. 0.999), "
            "or leave --ema-start out."
        )
    if config.ema_rampup and not config.ema_decay:
        raise ConfigError(
            f"ema_rampup = {config.ema_rampup} is invalid without an average: pass --ema-decay too (e.g. 0.999), "
            "or leave --ema-rampup out."
        )
    if config.lr_schedule == "exponential" and lr_end_factor(config) == 0:
        raise ConfigError(
            "lr_end_factor = 0 is invalid for the exponential schedule: it never reaches 0. "
            "Pass --lr-end-factor with a value in (0, 1), e.g. 0.01."
        )


# the end factor of a schedule when the user gives none; exponential decay never reaches 0
DEFAULT_END_FACTORS = {"constant": 1.0, "linear": 0.0, "cosine": 0.0, "exponential": 0.01}


def monitored_metric(config: RunConfig) -> str | None:
    """The metric that picks the best checkpoint and stops a run early (None: no metric is evaluated)."""
    return config.monitor or next(iter(config.metrics), None)


def lr_end_factor(config: RunConfig) -> float:
    """The scheduled learning rate at the last step, as a fraction of the first."""
    return DEFAULT_END_FACTORS[config.lr_schedule] if config.lr_end_factor is None else config.lr_end_factor


def resolve_config(
    registry: Any,
    file_values: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    base: RunConfig | None = None,
    flags_source: str = "command line",
) -> ResolvedConfig:
    """Build a validated config from the layers; ``base`` replaces the defaults (a resumed run's config).
    ``flags_source`` names the top layer in messages ("command line", or "arguments" of the Python API)."""
    file_values, flags = dict(file_values or {}), dict(flags or {})
    values = as_dict(base or RunConfig())
    sources: dict[str, str] = {}
    if base is None:
        given, source = (flags, flags_source) if flags.get("model") else (file_values, "config file")
        model_name = coerce("model", given.get("model") or values["model"], source)
        apply_layer(values, registry.get("model", model_name).defaults, f"{model_name} paper defaults", sources)
    apply_layer(values, file_values, "config file", sources)
    apply_layer(values, flags, flags_source, sources)
    if base is None:
        _drop_defaults_of_unused_regularizers(values, registry.get("model", values["model"]).defaults)
    config = RunConfig(**values)
    validate_fields(config)
    _validate_against_plugins(config, registry)
    return ResolvedConfig(config, sources)


def _drop_defaults_of_unused_regularizers(values: dict[str, Any], model_defaults: Mapping[str, Any]) -> None:
    """A paper's regularizer options go when the user swaps that regularizer out (``--reg r1`` on wgan-gp)."""
    paper_options = model_defaults.get("reg_options", {})

    def unused_paper_default(key: str, value: Any) -> bool:
        return key.rpartition(".")[0] not in values["reg"] and key in paper_options and paper_options[key] == value

    values["reg_options"] = {
        key: value for key, value in values["reg_options"].items() if not unused_paper_default(key, value)
    }


def _validate_against_plugins(config: RunConfig, registry: Any) -> None:
    model = registry.get("model", config.model)
    dataset = registry.get("dataset", config.dataset)
    loss = registry.get("loss", config.loss)
    validate_evaluation(config, registry)
    if config.monitor is not None and config.monitor not in config.metrics:
        raise ConfigError(
            f"monitor = {config.monitor} is invalid: it is not one of the evaluated metrics "
            f"({', '.join(config.metrics)}). Add it to --metrics or monitor one of those."
        )
    if config.patience and not config.metrics:
        raise ConfigError(
            f"patience = {config.patience} needs a metric to watch, and --metrics is empty. "
            "Evaluate a metric (e.g. --metrics fid) or pass --patience 0."
        )
    if config.resolution not in model.resolutions:
        allowed = ", ".join(map(str, model.resolutions))
        raise ConfigError(
            f"resolution = {config.resolution} is invalid: {config.model} makes images of {allowed} px. "
            f"Pass --resolution with one of those."
        )
    _validate_condition_images(config, model, dataset)
    for field_name, spec, owner in (("model_options", model, config.model), ("loss_options", loss, config.loss)):
        _check_options(field_name, getattr(config, field_name), spec.options, owner)
    if model.builds_conditional(config.model_options) and not dataset.labelled:
        switch = " (or pass --model-option conditional=false)" if "conditional" in model.options else ""
        raise ConfigError(
            f"{config.model} is class-conditional but {config.dataset} has no labels. "
            f"Choose an unconditional model{switch} or a labelled dataset."
        )
    _validate_regularizers(config, registry, model)


def _validate_condition_images(config: RunConfig, model: Any, dataset: Any) -> None:
    """An image-conditioned model needs condition images, and only such a model can use them."""
    derived = config.sketch != "none"
    if derived and dataset.condition_images:
        raise ConfigError(
            f"sketch = {config.sketch} derives condition images, but {config.dataset} brings its own. "
            "Leave --sketch out to use them."
        )
    if model.condition_image and not (derived or dataset.condition_images):
        raise ConfigError(
            f"{config.model} is conditioned on an image (a sketch) and {config.dataset} has no condition images. "
            "Derive them with --sketch edges, or use a dataset that has them (e.g. paired-folder)."
        )
    used = [f"sketch = {config.sketch}"] * derived + [f"pairing = {config.pairing}"] * (config.pairing != "paired")
    if used and not model.condition_image:
        raise ConfigError(
            f"{' and '.join(used)} sets up condition images, and {config.model} is not conditioned on an image. "
            "Choose an image-conditioned model (e.g. sketch2img), or leave those settings out."
        )


def validate_evaluation(config: RunConfig, registry: Any) -> None:
    """Check what an evaluation reads, with or without a model: dataset options, reference split, metrics' needs."""
    dataset = registry.get("dataset", config.dataset)
    for metric in config.metrics:
        extractor = registry.get("feature extractor", registry.get("metric", metric).extractor)
        if extractor.needs_labels and not dataset.labelled:
            raise ConfigError(
                f"The metric {metric} reads the {extractor.name} extractor, which learns from the training "
                f"split's labels, but {config.dataset} has none. Choose label-free metrics (e.g. --metrics fid,kid)."
            )
    if config.reference_split not in dataset.splits:
        raise ConfigError(
            f"reference_split = {config.reference_split} is invalid: {config.dataset} has the splits "
            f"{', '.join(dataset.splits)}."
        )
    _check_options("dataset_options", config.dataset_options, dataset.options, config.dataset)
    _validate_extractor_options(config, registry)


def extractor_options(config: RunConfig) -> dict[str, dict[str, Any]]:
    """The user's feature-extractor options by extractor, ``--inception-weights`` among them."""
    given = dict(config.extractor_options)
    if config.inception_weights:
        alias = given.setdefault(INCEPTION_WEIGHTS_OPTION, config.inception_weights)
        if alias != config.inception_weights:
            raise ConfigError(
                f"inception_weights = {config.inception_weights} and extractor_options "
                f"{INCEPTION_WEIGHTS_OPTION} = {alias} name two weights files: pass one of them."
            )
    return grouped_options(given)


def _validate_extractor_options(config: RunConfig, registry: Any) -> None:
    for name, options in extractor_options(config).items():
        if not name:
            raise ConfigError(
                f"extractor_options {', '.join(options)}: write them as EXTRACTOR.KEY=VALUE, e.g. "
                f"{INCEPTION_WEIGHTS_OPTION}=/path/to/weights.pth."
            )
        _check_options("extractor_options", options, registry.get("feature extractor", name).options, name)
        given = {f"{name}.{key}": value for key, value in options.items()}
        config.extractor_options.update({key: value for key, value in given.items() if key in config.extractor_options})


def regularizer_conflict(spec: Any, model: Any, config: RunConfig) -> str | None:
    """Why the regularizer ``spec`` cannot train ``model`` as ``config`` sets it up, or None."""
    return spec.conflicts(model, {**model.options, **config.model_options}) if spec.conflicts else None


def _validate_regularizers(config: RunConfig, registry: Any, model: Any) -> None:
    if len(set(config.reg)) != len(config.reg):
        raise ConfigError(f"reg = {_show(config.reg)} is invalid: it names a regularizer twice.")
    augmenters = [name for name in config.reg if registry.get("regularizer", name).augments]
    if len(augmenters) > 1:
        raise ConfigError(
            f"The regularizers {' and '.join(augmenters)} both augment every image D sees, and augmenting twice "
            f"compounds their augmentations beyond what either was tuned for. Keep one: drop {augmenters[-1]} (or "
            f"{', '.join(augmenters[:-1])}) from --reg."
        )
    for name in config.reg:
        problem = regularizer_conflict(registry.get("regularizer", name), model, config)
        if problem:
            raise ConfigError(f"The regularizer {name} cannot train {config.model} as configured: {problem}")
    for name, options in grouped_options(config.reg_options).items():
        if name not in config.reg:
            in_use = ", ".join(config.reg) or "none"
            raise ConfigError(
                f"reg_options sets {', '.join(f'{name}.{key}' for key in options) or repr(name)}, but {name!r} is "
                f"not among the regularizers in use ({in_use}). Add it with --reg, or write options as REG.KEY=VALUE."
            )
        _check_options("reg_options", options, registry.get("regularizer", name).options, name)
        config.reg_options.update({f"{name}.{key}": value for key, value in options.items()})


def _check_options(field_name: str, given: dict[str, Any], declared: Mapping[str, Any], owner: str) -> None:
    for key, value in given.items():
        if key not in declared:
            known = ", ".join(f"{name} (default {default})" for name, default in declared.items()) or "none"
            raise ConfigError(f"{field_name}: {owner} has no option {key!r}. Its options: {known}.")
        default = declared[key]
        if default is not None and not isinstance(default, str) and isinstance(value, str):
            try:
                given[key] = yaml.safe_load(value)
            except yaml.YAMLError:
                pass
            if type(given[key]) is not type(default) and not (
                isinstance(default, float) and isinstance(given[key], int)
            ):
                raise ConfigError(
                    f"{field_name}: {owner}'s option {key} = {value!r} is invalid: it must be a "
                    f"{type(default).__name__} like its default {default!r}."
                )
