"""Builds what a run needs (device, dataset, model, loss, evaluator) from a validated config."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganbench.config import RunConfig, extractor_options, grouped_options
from ganbench.data.conditions import condition_channels, with_conditions
from ganbench.data.identity import cache_dir, dataset_key, dataset_options, dataset_request
from ganbench.distributed import SINGLE, World, rank_device
from ganbench.errors import ConfigError, DatasetError
from ganbench.evaluation.evaluator import Evaluator
from ganbench.evaluation.statistics_file import read_statistics
from ganbench.model import GAN
from ganbench.objective import Objective
from ganbench.registry import Registry
from ganbench.specs import ImageDataset, ModelRequest


@dataclass
class Components:
    model: GAN
    objective: Objective
    dataset: ImageDataset
    evaluator: Evaluator
    device: torch.device
    world: World = SINGLE


def pick_device(name: str) -> torch.device:
    """``auto`` is cuda, then mps, then cpu; an explicit device must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device = {name} is invalid: use auto, cpu, cuda, cuda:N or mps.") from exc
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(
            f"device = {name} is not available on this machine ({torch.cuda.device_count()} CUDA devices). "
            "Use --device cpu or --device auto."
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device = mps is not available on this machine. Use --device cpu or --device auto.")
    return device


def memory_format(config: RunConfig) -> torch.memory_format:
    return torch.channels_last if config.channels_last else torch.contiguous_format


def load_dataset(config: RunConfig, registry: Registry, split: str, reference: bool = False) -> ImageDataset:
    spec = registry.get("dataset", config.dataset)
    dataset = spec.build(dataset_request(config, registry, split, reference))
    if len(dataset) == 0:
        raise DatasetError(f"The {split} split of {config.dataset} holds no images. Check --data-dir.")
    return with_conditions(dataset, config.sketch, config.pairing, config.seed)


def build_components(config: RunConfig, registry: Registry, world: World = SINGLE) -> Components:
    """What the run needs, for this process of ``world`` (its device; batch norm synchronised across GPUs)."""
    device = rank_device(pick_device(config.device), world)
    world.share(config.batch_size)
    model_spec = registry.get("model", config.model)
    dataset = load_dataset(config, registry, "train")
    if len(dataset) < config.batch_size:
        raise ConfigError(
            f"batch_size = {config.batch_size} is larger than the training set ({len(dataset)} images). "
            "Pass a smaller --batch-size."
        )
    if dataset.channels not in model_spec.channels:
        raise ConfigError(
            f"{config.model} supports {model_spec.channels} channels, but {config.dataset} has {dataset.channels}."
        )
    conditional = model_spec.builds_conditional(config.model_options)
    if conditional and dataset.num_classes < 2:
        raise ConfigError(f"{config.model} is class-conditional but {config.dataset} has no classes here.")
    if model_spec.condition_image and not condition_channels(dataset):
        raise ConfigError(f"{config.model} is image-conditioned but {config.dataset} gave no condition images.")
    torch.manual_seed(config.seed)  # the initialisation is drawn from the run's seed
    model = model_spec.build(
        ModelRequest(
            resolution=config.resolution,
            channels=dataset.channels,
            num_classes=dataset.num_classes if conditional else 0,
            z_dim=config.z_dim,
            options={**model_spec.options, **config.model_options},
            condition_channels=condition_channels(dataset) if model_spec.condition_image else 0,
        )
    ).to(device, memory_format=memory_format(config))
    if world.distributed and device.type == "cuda":  # SyncBatchNorm runs on GPUs only: see the README
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    objective = build_objective(config, registry)
    return Components(model, objective, dataset, build_evaluator(config, registry, dataset, device), device, world)


def build_evaluator(
    config: RunConfig, registry: Registry, training_set: ImageDataset, device: torch.device
) -> Evaluator:
    """The configured metrics against the reference split; ``training_set`` is the train split as configured."""
    same_images = dataset_options(config, registry, reference=True) == dataset_options(config, registry)
    reference = (
        training_set
        if config.reference_split == "train" and same_images
        else load_dataset(config, registry, config.reference_split, reference=True)
    )
    metric_specs = [registry.get("metric", name) for name in config.metrics]
    builders = {spec.extractor: registry.get("feature extractor", spec.extractor).build for spec in metric_specs}
    return Evaluator(
        metric_specs,
        builders,
        reference,
        dataset_key(config, registry, config.reference_split, reference=True),
        training_set,
        dataset_key(config, registry, "train"),
        config.eval_samples,
        config.reference_samples,
        seed=config.seed,
        device=device,
        cache_dir=cache_dir(config),
        extractor_options={
            name: {**registry.get("feature extractor", name).options, **extractor_options(config).get(name, {})}
            for name in builders
        },
        resize=config.resize,
        reference_statistics=read_statistics(config.reference_stats) if config.reference_stats else None,
    )


def build_objective(config: RunConfig, registry: Registry) -> Objective:
    """The configured loss and regularizers, each with its declared options under the user's."""
    loss_spec = registry.get("loss", config.loss)
    loss = loss_spec.build({**loss_spec.options, **config.loss_options})
    by_regularizer = grouped_options(config.reg_options)
    regularizers = []
    for name in config.reg:
        spec = registry.get("regularizer", name)
        regularizers.append(spec.build({**spec.options, **by_regularizer.get(name, {})}))
    return Objective(loss, regularizers)
