"""What ``ganbench eval`` scores: a checkpoint's generator, rebuilt as its run evaluated it, or a folder of images.

Either becomes a ``Source``: the evaluation's settings (a checkpoint's own, or ganbench's defaults for a
folder, with the user's flags on top), an Evaluator for them, and the images to score as batches in
[-1, 1] with the classes they show. A folder's images are converted to the dataset's channels and
resized to its resolution (shorter side, then a centre crop) as the dataset plugins do; top-level
subfolders named after the dataset's classes (names or indices) give them labels.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

from ganbench.config import (
    RUN_CHECKPOINTS,
    RunConfig,
    apply_layer,
    as_dict,
    checkpoint_file,
    validate_evaluation,
    validate_fields,
)
from ganbench.data.images import ImageFileDataset, to_uint8
from ganbench.errors import ConfigError, DatasetError, GanbenchError
from ganbench.evaluation.evaluator import Batches, Evaluator
from ganbench.model import GAN
from ganbench.registry import Registry
from ganbench.scoring.downstream import Synthesizer
from ganbench.specs import ImageDataset
from ganbench.training.assembly import build_components, build_evaluator, load_dataset, pick_device
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.loop import averaged_generator, with_average

# Settings a checkpoint fixes: its generator was trained on them.
CHECKPOINT_FIXED = ("dataset", "resolution", "dataset_options")
SOURCE_HELP = "a checkpoint file, the MLflow run id of a ganbench run, or a folder of images"


@dataclass
class Source:
    """Images to score, the settings and Evaluator to score them with, and labelled images on demand.

    ``synthesize`` draws images of requested classes (for ``--augment``); when it is None,
    ``unlabelled_reason`` says why there are none.
    """

    kind: str  # "checkpoint" or "folder"
    location: Path
    name: str
    config: RunConfig
    training_set: ImageDataset
    evaluator: Evaluator
    batches: Batches
    synthesize: Synthesizer | None
    unlabelled_reason: str = ""
    step: int | None = None  # a checkpoint's training step
    generator_images: int | None = None  # real training images the generator learnt from (a checkpoint's)
    paired: bool = False  # image i was made from reference image i's condition (see MetricInput.paired)

    @property
    def count(self) -> int:
        return self.evaluator.n_generated


def open_source(location: str, registry: Registry, flags: Mapping[str, Any], checkpoint: str = "last") -> Source:
    """The source at ``location`` (see SOURCE_HELP), with ``flags`` (run-setting values) on its settings;
    of a run given by its id, its ``checkpoint`` (last or best)."""
    if checkpoint not in RUN_CHECKPOINTS:
        raise ConfigError(f"--checkpoint {checkpoint} is invalid: use one of {', '.join(RUN_CHECKPOINTS)}.")
    path = Path(location).expanduser()
    if checkpoint != "last" and path.exists():
        raise ConfigError(
            f"--checkpoint {checkpoint} picks a checkpoint of a run given by its id, and {location} is a "
            f"{'folder' if path.is_dir() else 'file'}: pass the run's id, or its {checkpoint_file(checkpoint)}."
        )
    if path.is_dir():
        return open_folder(path, registry, flags)
    return open_checkpoint(_checkpoint_path(location, flags, checkpoint), registry, flags)


def _checkpoint_path(location: str, flags: Mapping[str, Any], checkpoint: str) -> Path:
    from ganbench.training.runner import find_checkpoint  # MLflow loads slowly: only when a run id is looked up

    path = Path(location).expanduser()
    if path.is_file():
        return path
    if "/" in location or path.suffix:
        raise GanbenchError(f"{location} does not exist. Pass {SOURCE_HELP}.")
    try:
        return find_checkpoint(location, flags, checkpoint)
    except GanbenchError as exc:
        raise GanbenchError(f"{location} is not {SOURCE_HELP} ({exc})") from exc


def evaluation_config(base: RunConfig, flags: Mapping[str, Any], registry: Registry) -> RunConfig:
    """``base`` with the evaluation settings ``flags`` over it, checked against the plugins."""
    values = as_dict(base)
    apply_layer(values, flags, "command line", {})
    config = RunConfig(**values)
    validate_fields(config)
    validate_evaluation(config, registry)
    return config


# --------------------------------------------------------------------------- checkpoints


def open_checkpoint(path: Path, registry: Registry, flags: Mapping[str, Any]) -> Source:
    state = load_checkpoint(path)
    base = RunConfig(**state["config"])
    fixed = ", ".join("--" + name.replace("_", "-") for name in CHECKPOINT_FIXED if name in flags)
    if fixed:
        raise ConfigError(
            f"A checkpoint is scored on what its generator was trained on ({base.dataset} at {base.resolution}px, "
            f"dataset options {base.dataset_options or 'none'}), so {fixed} cannot apply. To score its images "
            "against another dataset, write them to a folder and evaluate that."
        )
    config = evaluation_config(base, flags, registry)
    components = build_components(config, registry)
    model = evaluated_model(components.model, config, state)
    batches = components.evaluator.model_batches(model, config.batch_size)
    # an image-conditioned model's images need condition images, which requested classes alone do not give
    synthesize = (
        _model_synthesizer(model, config.batch_size) if model.conditional and not model.image_conditioned else None
    )
    return Source(
        kind="checkpoint",
        location=path,
        name=str(state.get("run_id") or path.stem),
        config=config,
        training_set=components.dataset,
        evaluator=components.evaluator,
        batches=batches,
        synthesize=synthesize,
        unlabelled_reason=""
        if synthesize
        else f"{config.model} is conditioned on an image, so classes alone do not make its images. Use a folder of "
        "its images with one subfolder per class."
        if model.image_conditioned
        else f"{config.model} is unconditional: its images come with no classes. Use a checkpoint of a "
        "class-conditional model (`ganbench plugins -v` shows which are), or a folder with one subfolder per class.",
        step=int(state["step"]),
        generator_images=len(components.dataset),
        paired=components.evaluator.pairs_with(model),
    )


def evaluated_model(model: GAN, config: RunConfig, state: Mapping[str, Any]) -> GAN:
    """``model`` with the checkpoint's weights, as its run evaluated it: with the averaged generator under EMA."""
    try:
        model.load_state_dict(state["model"])
        if config.ema_decay > 0:
            average = averaged_generator(model.generator, config.ema_decay)
            average.load_state_dict(state["ema"])
            return with_average(model, average)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise GanbenchError(
            f"The checkpoint does not fit {config.model} as its config describes it ({exc}); the model's plugin "
            "may have changed since the run. Evaluate it with the ganbench and plugin versions that trained it."
        ) from exc
    return model


def _model_synthesizer(model: GAN, batch_size: int) -> Synthesizer:
    def synthesize(labels: torch.Tensor, seed: int) -> torch.Tensor:
        rng = torch.Generator().manual_seed(seed)
        parts = [
            to_uint8(model.sample(model.sample_latent(len(chunk), rng), chunk.to(model.device)).cpu())
            for chunk in labels.split(batch_size)
        ]
        return torch.cat(parts)

    return synthesize


# --------------------------------------------------------------------------- folders


def open_folder(root: Path, registry: Registry, flags: Mapping[str, Any]) -> Source:
    if "dataset" not in flags:
        raise ConfigError(
            f"{root} is a folder of images: pass --dataset, the dataset to score them against "
            "(`ganbench plugins` lists them), with --data-dir where its files need one."
        )
    config = evaluation_config(RunConfig(), flags, registry)
    files = image_files(root)
    count = min(len(files), config.eval_samples) if "eval_samples" in flags else len(files)
    config = replace(config, eval_samples=count)
    training_set = load_dataset(config, registry, "train")
    labels = folder_labels(root, files, training_set.class_names, config.dataset)
    everything = ImageFileDataset(
        list(zip(files, [-1] * len(files) if labels is None else labels, strict=True)),
        training_set.class_names,
        training_set.channels,
        config.resolution,
    )
    chosen = torch.randperm(len(files), generator=torch.Generator().manual_seed(config.seed))[:count].sort().values
    evaluator = build_evaluator(config, registry, training_set, pick_device(config.device))
    return Source(
        kind="folder",
        location=root,
        name=root.resolve().name,
        config=config,
        training_set=training_set,
        evaluator=evaluator,
        batches=functools.partial(_folder_batches, everything, chosen, labels is not None, config.batch_size),
        synthesize=_folder_synthesizer(everything, torch.tensor(labels)) if labels is not None else None,
        unlabelled_reason=""
        if labels is not None
        else f"the images in {root} have no classes: put them in one subfolder per class, each named after one of "
        f"{config.dataset}'s classes or its index ({', '.join(training_set.class_names) or 'it has none'}).",
    )


def image_files(root: Path) -> list[Path]:
    """Every image file under ``root``, its subfolders included, in sorted order."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and has_file_allowed_extension(p.name, IMG_EXTENSIONS))
    if not files:
        raise DatasetError(
            f"{root} holds no images: searched it and its subfolders for files ending in "
            f"{', '.join(IMG_EXTENSIONS)} (any case). Point SOURCE at the folder that holds the images."
        )
    return files


def folder_labels(root: Path, files: list[Path], class_names: list[str], dataset: str) -> list[int] | None:
    """Each file's class from the top-level subfolder it lies in; None when the folders name no classes."""
    parts = [file.relative_to(root).parts for file in files]
    if not class_names or any(len(p) == 1 for p in parts):
        return None
    index = {str(i): i for i in range(len(class_names))} | {name: i for i, name in enumerate(class_names)}
    folders = sorted({p[0] for p in parts})
    unknown = [folder for folder in folders if folder not in index]
    if len(unknown) == len(folders):
        return None
    if unknown:
        raise DatasetError(
            f"The subfolders {', '.join(unknown)} of {root} name none of {dataset}'s classes, while others do. "
            f"Name every class folder after a class or its index (0 to {len(class_names) - 1}): "
            f"{', '.join(class_names)}."
        )
    return [index[p[0]] for p in parts]


def _folder_batches(
    images: ImageFileDataset, chosen: torch.Tensor, labelled: bool, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    for batch in chosen.split(batch_size):
        items = [images[int(i)] for i in batch]
        labels = torch.tensor([label for _, label in items]) if labelled else None
        yield torch.stack([image for image, _ in items]), labels


def _folder_synthesizer(images: ImageFileDataset, labels: torch.Tensor) -> Synthesizer:
    """Draws, for each requested class, distinct images of that class from the folder."""

    def synthesize(requested: torch.Tensor, seed: int) -> torch.Tensor:
        rng = torch.Generator().manual_seed(seed)
        picks = torch.empty(len(requested), dtype=torch.int64)
        for label in requested.unique().tolist():
            slots = (requested == label).nonzero().squeeze(1)
            pool = (labels == label).nonzero().squeeze(1)
            if len(pool) < len(slots):
                raise DatasetError(
                    f"The folder holds {len(pool)} images of class {images.class_names[label]}, and {len(slots)} "
                    "are asked for. Pass a lower --synthetic-ratio or --real-fraction, or add images."
                )
            picks[slots] = pool[torch.randperm(len(pool), generator=rng)[: len(slots)]]
        return torch.stack([to_uint8(images[int(i)][0]) for i in picks])

    return synthesize
