"""``ganbench run``: config -> components -> tracked training -> summary, and resuming."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from ganbench import __version__
from ganbench.assembly import build_components
from ganbench.checkpoint import load_checkpoint
from ganbench.config import IDENTITY_FIELDS, ResolvedConfig, RunConfig, as_dict, flat_params, resolve_config
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registry import Registry
from ganbench.tracking import CHECKPOINT_TAG, Tracker, default_tracking_uri
from ganbench.training import EvaluationCallback, Outcome, Trainer
from ganbench.ui import runs_views


def make_tracker(config: RunConfig) -> Tracker:
    results = Path(config.results_dir)
    return Tracker(config.tracking_uri or default_tracking_uri(results), results / "mlartifacts")


def find_checkpoint(resume: str, flags: Mapping[str, Any]) -> Path:
    """A checkpoint file, or the last checkpoint of the MLflow run with that id."""
    path = Path(resume).expanduser()
    if path.is_file():
        return path
    base = RunConfig(**{key: flags[key] for key in ("results_dir", "tracking_uri") if flags.get(key)})
    tracker = make_tracker(base)
    tags = tracker.run_tags(resume)
    recorded = Path(tags.get(CHECKPOINT_TAG, ""))
    if recorded.is_file():
        return recorded
    try:
        return tracker.download_artifact(
            resume, "checkpoints/last.pt", Path(base.results_dir) / "cache" / "downloads" / resume
        )
    except GanbenchError as exc:
        raise GanbenchError(
            f"Run {resume} has no checkpoint to resume from ({recorded} is gone and the run stored none "
            "as an artifact)."
        ) from exc


def resolve_resumed(
    checkpoint: dict[str, Any], registry: Registry, file_values: Mapping[str, Any], flags: Mapping[str, Any]
) -> ResolvedConfig:
    """The checkpoint's config with the user's overrides (e.g. more --steps); what the weights depend on stays."""
    base = RunConfig(**checkpoint["config"])
    resolved = resolve_config(registry, file_values, flags, base=base)
    scheduled = ("steps",) if base.lr_schedule != "constant" else ()  # the schedule is laid out over the steps
    changed = [name for name in IDENTITY_FIELDS + scheduled if getattr(resolved.config, name) != getattr(base, name)]
    if changed:
        raise ConfigError(
            f"A resumed run cannot change {', '.join(changed)}: the checkpoint was trained with "
            f"{', '.join(f'{n}={getattr(base, n)}' for n in changed)}. Start a new run instead."
        )
    return resolved


def run(
    registry: Registry,
    flags: Mapping[str, Any],
    file_values: Mapping[str, Any],
    resume: str | None,
    console: Console,
    on_evaluation: EvaluationCallback | None = None,
    tags: Mapping[str, str] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Outcome:
    """Train (or resume) one run. ``tags`` go on a new MLflow run (e.g. a search's parent run id);
    ``on_start`` gets the run's id as soon as it exists; ``on_evaluation`` sees every evaluation."""
    checkpoint = load_checkpoint(find_checkpoint(resume, flags)) if resume else None
    resolved = (
        resolve_resumed(checkpoint, registry, file_values, flags)
        if checkpoint
        else resolve_config(registry, file_values, flags)
    )
    config = resolved.config
    console.print(
        f"[bold]ganbench run[/]: {config.model} on {config.dataset} at {config.resolution}px, "
        f"{config.steps} steps, seed {config.seed}"
    )
    if resolved.sources:
        console.print(resolved.short(), style="dim", highlight=False)
    components = build_components(config, registry)
    console.print(
        f"device {components.device}, {len(components.dataset)} training images, "
        f"{sum(p.numel() for p in components.model.parameters()):,} parameters",
        style="dim",
    )
    tracker = make_tracker(config)
    if checkpoint:
        tracker.resume(checkpoint["run_id"])
    else:
        tracker.start(
            config.experiment or config.dataset,
            config.run_name or f"{config.model}-{config.dataset}-s{config.seed}",
            {
                "model": config.model,
                "dataset": config.dataset,
                "loss": config.loss,
                "ganbench.version": __version__,
                **(tags or {}),
            },
        )
        tracker.share_views(runs_views({m: registry.get("metric", m).higher_is_better for m in config.metrics}))
    if on_start:
        on_start(tracker.run_id)
    run_dir = Path(config.results_dir) / "runs" / tracker.run_id
    trainer = Trainer(config, components, tracker, run_dir, console, on_evaluation)
    try:
        if checkpoint:
            trainer.load_state(checkpoint)
            console.print(f"resumed run {tracker.run_id} at step {trainer.step}")
        else:
            tracker.log_params(flat_params(config))
            tracker.set_tags({CHECKPOINT_TAG: str(trainer.checkpoint_path.resolve()), "device": str(components.device)})
            config_file = run_dir / "config.yaml"
            config_file.parent.mkdir(parents=True, exist_ok=True)
            config_file.write_text(yaml.safe_dump(as_dict(config), sort_keys=False))
            tracker.log_artifact(config_file)
        return trainer.fit()
    except BaseException as error:
        trainer.fail(error)
        raise
