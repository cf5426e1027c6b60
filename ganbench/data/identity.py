"""Which images a run's data is: the identity every metric value, cache key and experiment name carries.

Two values are comparable only when their reference data is the same: the same dataset (for a
folder of the user's own, the same files), split and resolution, under the same options that
change the images. ``DataIdentity`` names exactly that; ``dataset_key`` is the same identity as a
cache key, with what only matters for finding the cached files (the data folder's location).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig
from ganbench.registry import Registry
from ganbench.specs import DatasetRequest, DatasetSpec

# The tag a run's reference data is recorded in; runs without it were logged before values knew their data.
REFERENCE_TAG = "reference_data"


@dataclass(frozen=True)
class DataIdentity:
    """A split of a run's data: a metric value compares only with values whose reference has an equal identity.

    ``name`` is the dataset, or ``<dataset>:<folder>`` for a folder of the user's own;
    ``options`` the options that change the images and are set away from the dataset's
    defaults; ``fingerprint`` the dataset's hash of its files (None: the name, version and
    options identify the images).
    """

    name: str
    version: str
    split: str
    options: tuple[tuple[str, str], ...] = ()
    fingerprint: str | None = None

    @property
    def experiment(self) -> str:
        """The MLflow experiment of runs on this data, e.g. ``cifar10[classes=cat,dog]`` or ``imagefolder:cards``."""
        return experiment_of(self.name, self.options)

    def describe(self) -> str:
        """As a protocol shows the reference: ``imagefolder:cards/test (files 1a2b3c4d)``, ``cifar10/train``."""
        version = f" v{self.version}" if self.version != "1" else ""
        files = f" (files {self.fingerprint[:8]})" if self.fingerprint else ""
        return f"{self.experiment}/{self.split}{version}{files}"


def cache_dir(config: RunConfig) -> Path:
    return Path(config.results_dir) / "cache"


def dataset_options(config: RunConfig, registry: Registry, reference: bool = False) -> dict[str, Any]:
    """The dataset's options with the user's; a reference set leaves out those that only shape training data."""
    spec = registry.get("dataset", config.dataset)
    options = {**spec.options, **config.dataset_options}
    if reference:
        options.update({name: spec.options[name] for name in spec.training_only_options if name in spec.options})
    return options


def dataset_request(config: RunConfig, registry: Registry, split: str, reference: bool = False) -> DatasetRequest:
    return DatasetRequest(
        split=split,
        resolution=config.resolution,
        root=Path(config.data_dir).expanduser() if config.data_dir else None,
        cache_dir=cache_dir(config) / "data",
        options=dataset_options(config, registry, reference),
    )


def data_identity(config: RunConfig, registry: Registry, split: str, reference: bool = False) -> DataIdentity:
    """The identity of ``split`` as the run configures it (as a reference set: without training-only options)."""
    spec = registry.get("dataset", config.dataset)
    request = dataset_request(config, registry, split, reference)
    fingerprint = spec.fingerprint(request) if spec.fingerprint else None
    return DataIdentity(_name(spec, request), spec.version, split, _changed_options(spec, request), fingerprint)


def experiment_name(config: RunConfig, registry: Registry) -> str:
    """``--experiment``, else the experiment of the run's reference data (see ``DataIdentity.experiment``);
    it reads no data, so it names the experiment even of data that is missing."""
    if config.experiment:
        return config.experiment
    spec = registry.get("dataset", config.dataset)
    request = dataset_request(config, registry, config.reference_split, reference=True)
    return experiment_of(_name(spec, request), _changed_options(spec, request))


def experiment_of(name: str, options: tuple[tuple[str, str], ...]) -> str:
    chosen = ",".join(f"{option}={value}" for option, value in options)
    return f"{name}[{chosen}]" if chosen else name


def _name(spec: DatasetSpec, request: DatasetRequest) -> str:
    return f"{spec.name}:{request.root.resolve().name}" if spec.user_folder and request.root else spec.name


def _changed_options(spec: DatasetSpec, request: DatasetRequest) -> tuple[tuple[str, str], ...]:
    """The options of ``request`` that change the images and differ from the dataset's defaults, sorted."""
    return tuple(
        (option, _shown(value))
        for option, value in sorted(request.options.items())
        if option not in spec.training_only_options and value != spec.options.get(option)
    )


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def dataset_key(config: RunConfig, registry: Registry, split: str, reference: bool = False) -> dict[str, Any]:
    """What identifies a split's images: the key of cached features and of extractors trained on them.

    Options are keyed with the dataset's defaults filled in, so spelling out a default reuses the cache;
    ``data`` is the identity as protocols show it (``DataIdentity.describe``).
    """
    identity = data_identity(config, registry, split, reference)
    return {
        "dataset": config.dataset,
        "version": identity.version,
        "split": split,
        "resolution": config.resolution,
        "options": dataset_options(config, registry, reference),
        "data_dir": str(Path(config.data_dir).resolve()) if config.data_dir else None,
        "fingerprint": identity.fingerprint,
        "data": identity.describe(),
    }
