"""``ganbench stats export``: a dataset's reference statistics as a file pytorch-fid and clean-fid read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from ganbench.config import RunConfig
from ganbench.errors import ConfigError
from ganbench.evaluation.resize import applied_resize
from ganbench.evaluation.statistics_file import ReferenceStatistics, write_statistics
from ganbench.registry import Registry
from ganbench.scoring.sources import evaluation_config
from ganbench.training.assembly import build_evaluator, load_dataset, pick_device
from ganbench.training.loop import progress_bar
from ganbench.version import __version__


def export_statistics(
    path: Path, registry: Registry, flags: Mapping[str, Any], console: Console, metric: str = "fid"
) -> ReferenceStatistics:
    """Write the mean and covariance of the reference features that ``metric`` reads (its extractor and feature)
    for the dataset and reference settings in ``flags``, with what they were computed from."""
    if flags.get("reference_stats"):
        raise ConfigError("stats export computes statistics from the reference images: leave out --reference-stats.")
    spec = registry.get("metric", metric)
    if not spec.needs_reference:
        raise ConfigError(f"{metric} compares with no reference, so it has no reference statistics to export.")
    config = evaluation_config(RunConfig(), {**flags, "metrics": [metric]}, registry)
    evaluator = build_evaluator(config, registry, load_dataset(config, registry, "train"), pick_device(config.device))
    extractor = evaluator.extractor(spec.extractor)
    if spec.feature not in extractor.features:
        raise ConfigError(extractor.unavailable.get(spec.feature, f"{extractor.name} has no feature {spec.feature}"))
    console.print(
        f"[bold]ganbench stats export[/]: {evaluator.n_reference} images of {evaluator.reference_key['data']} "
        f"through {extractor.name} ({spec.feature})"
    )
    with progress_bar(console) as progress:
        task = progress.add_task("reference features", total=evaluator.n_reference, stats="")
        features = evaluator.reference_features(extractor, lambda n: progress.advance(task, n))[spec.feature]
    provenance = {
        "reference": evaluator.reference_key["data"],
        "samples": evaluator.n_reference,
        "resolution": config.resolution,
        "extractor": extractor.name,
        "weights": extractor.weights_hash,
        "feature": spec.feature,
        "resize": applied_resize(extractor, config.resize),
        "ganbench": __version__,
    }
    return write_statistics(path, features, provenance)
