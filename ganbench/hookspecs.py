"""The pluggy hook specifications of ganbench.

Each registration hook returns a list of specs; every plugin's lists are merged by the
registry. A plugin implements only the hooks it needs::

    from ganbench import hookimpl, ModelSpec

    @hookimpl
    def ganbench_models():
        return [ModelSpec(name="tiny", ...)]
"""

from __future__ import annotations

import pluggy

from ganbench.specs import DatasetSpec, FeatureExtractorSpec, LossSpec, MetricSpec, ModelSpec, RegularizerSpec

PROJECT = "ganbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ganbench_models() -> list[ModelSpec]:
    """GAN architectures this plugin provides."""


@hookspec
def ganbench_datasets() -> list[DatasetSpec]:
    """Datasets this plugin provides."""


@hookspec
def ganbench_losses() -> list[LossSpec]:
    """Adversarial losses this plugin provides."""


@hookspec
def ganbench_regularizers() -> list[RegularizerSpec]:
    """Regularizers of training (penalties on either network's loss, augmentations, weight constraints)."""


@hookspec
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    """Feature extractors (e.g. Inception-v3) that metrics read from."""


@hookspec
def ganbench_metrics() -> list[MetricSpec]:
    """Metrics this plugin provides."""
