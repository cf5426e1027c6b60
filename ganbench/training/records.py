"""What a run leaves besides its checkpoints: a sample grid at each evaluation, and at its end the records
of its evaluations, its curves, and its checkpoints and best step in MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganbench.config import RunConfig
from ganbench.evaluation.evaluator import Evaluator
from ganbench.model import GAN, ImageConditionedGAN
from ganbench.tracking.runs import Tracker
from ganbench.training.monitor import BestSoFar
from ganbench.training.plots import save_condition_grid, save_curves, save_grid

if TYPE_CHECKING:  # the loop, which calls these, defines what a run's history holds
    from ganbench.training.loop import History

MAX_CLASS_COLUMNS = 20  # a conditional model's grid shows one class per column up to this many classes


def save_samples(model: GAN, evaluator: Evaluator, config: RunConfig, run_dir: Path, step: int) -> Path:
    """The sample grid of ``step``, from fixed latents; an image-conditioned model's shows
    condition | generated | real for the same reference images."""
    path = run_dir / "samples" / f"step_{step:07d}.png"
    if isinstance(model, ImageConditionedGAN):
        return save_condition_grid(*evaluator.condition_samples(model, config.grid_size, config.seed + 1), path)
    columns = model.num_classes if 0 < model.num_classes <= MAX_CLASS_COLUMNS else None
    size = -(-config.grid_size // columns) * columns if columns else config.grid_size  # whole rows of classes
    return save_grid(sample_grid(model, size, config.seed), path, nrow=columns)


def sample_grid(model: GAN, n: int, seed: int) -> torch.Tensor:
    """A fixed set of samples (same latents at every evaluation); class-conditional models show classes in columns."""
    rng = torch.Generator().manual_seed(seed + 1)
    z = model.sample_latent(n, rng)
    labels = (torch.arange(n) % model.num_classes).to(model.device) if model.conditional else None
    return model.sample(z, labels).cpu()


def record_run(
    tracker: Tracker,
    config: RunConfig,
    history: History,
    run_dir: Path,
    checkpoint: Path,
    best_checkpoint: Path | None,
    step: int,
) -> None:
    """The run's last records: evaluations (every value with its protocol), curves, checkpoints and its best step."""
    records = [{"step": e.step, "results": [r.as_record() for r in e.results]} for e in history.evaluations]
    (run_dir / "evaluations.json").write_text(json.dumps(records, indent=1))
    tracker.log_artifact(run_dir / "evaluations.json")
    title = f"{config.model} on {config.dataset}"
    tracker.log_artifact(save_curves(history.losses, run_dir / "curves" / "losses.png", title), "curves")
    if history.metrics:
        tracker.log_artifact(save_curves(history.metrics, run_dir / "curves" / "metrics.png", title), "curves")
    tracker.log_artifact(checkpoint, "checkpoints")
    best: BestSoFar | None = history.best
    if best is not None and best.step is not None:
        tracker.set_tags({"best.metric": best.metric, "best.step": str(best.step)})
        if best_checkpoint and best.step != step:  # else it is the last checkpoint, logged above
            tracker.log_artifact(best_checkpoint, "checkpoints")
