"""ganbench: a benchmarking harness for generative adversarial networks.

The Python API (see ``ganbench.api``)::

    import ganbench
    result = ganbench.train(model="dcgan", dataset="shapes", steps=1000, eval_every=250)
    board = ganbench.leaderboard(dataset="shapes")

The plugin API: everything a plugin needs is importable from here, its layers from ``ganbench.nn``
and dataset building blocks from ``ganbench.data``; nothing else of ganbench is public::

    from ganbench import hookimpl, GAN, ModelSpec, ModelRequest
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganbench.config import RunConfig
from ganbench.distributed import per_sample
from ganbench.errors import (
    ConfigError,
    DatasetError,
    GanbenchError,
    MetricUnavailable,
    PluginError,
)
from ganbench.filesystem import atomic_save
from ganbench.hookspecs import hookimpl
from ganbench.model import GAN, ImageConditionedGAN
from ganbench.objective import Critic, Draw, Objective, Regularizer
from ganbench.specs import (
    ConditionedDataset,
    DatasetRequest,
    DatasetSpec,
    ExtractorRequest,
    FeatureExtractor,
    FeatureExtractorSpec,
    ImageDataset,
    LossSpec,
    MetricInput,
    MetricSpec,
    ModelRequest,
    ModelSpec,
    RegularizerSpec,
)
from ganbench.version import __version__

if TYPE_CHECKING:
    from ganbench.api import compare, evaluate, export_statistics, leaderboard, report, search, train

# The API functions load MLflow, Optuna and the training engine: only when first used, so that a plugin
# importing its specs from here stays light.
_API = ("train", "evaluate", "search", "compare", "leaderboard", "report", "export_statistics")


def __getattr__(name: str) -> Any:
    if name in _API:
        from ganbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")


__all__ = [
    "GAN",
    "ConditionedDataset",
    "ConfigError",
    "Critic",
    "DatasetError",
    "DatasetRequest",
    "DatasetSpec",
    "Draw",
    "ExtractorRequest",
    "FeatureExtractor",
    "FeatureExtractorSpec",
    "GanbenchError",
    "ImageConditionedGAN",
    "ImageDataset",
    "LossSpec",
    "MetricInput",
    "MetricSpec",
    "MetricUnavailable",
    "ModelRequest",
    "ModelSpec",
    "Objective",
    "PluginError",
    "Regularizer",
    "RegularizerSpec",
    "RunConfig",
    "__version__",
    "atomic_save",
    "compare",
    "evaluate",
    "export_statistics",
    "hookimpl",
    "leaderboard",
    "per_sample",
    "report",
    "search",
    "train",
]
