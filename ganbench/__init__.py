"""ganbench: a benchmarking harness for generative adversarial networks.

Plugins import what they need from here::

    from ganbench import hookimpl, GAN, ModelSpec, ModelRequest
"""

__version__ = "0.1.0"

from ganbench.hookspecs import hookimpl  # noqa: E402
from ganbench.model import GAN, ImageConditionedGAN  # noqa: E402
from ganbench.objective import Objective, Regularizer  # noqa: E402
from ganbench.specs import (  # noqa: E402
    ConditionedDataset,
    DatasetRequest,
    DatasetSpec,
    ExtractorRequest,
    FeatureExtractorSpec,
    ImageDataset,
    LossSpec,
    MetricInput,
    MetricSpec,
    ModelRequest,
    ModelSpec,
    RegularizerSpec,
)

__all__ = [
    "GAN",
    "ConditionedDataset",
    "ImageConditionedGAN",
    "DatasetRequest",
    "DatasetSpec",
    "ExtractorRequest",
    "FeatureExtractorSpec",
    "ImageDataset",
    "LossSpec",
    "MetricInput",
    "MetricSpec",
    "ModelRequest",
    "ModelSpec",
    "Objective",
    "Regularizer",
    "RegularizerSpec",
    "__version__",
    "hookimpl",
]
