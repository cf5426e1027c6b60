"""``ganbench run``: config -> components -> tracked training -> summary, and resuming."""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.console import Console

from ganbench.config import (
    IDENTITY_FIELDS,
    ResolvedConfig,
    RunConfig,
    as_dict,
    checkpoint_file,
    flat_params,
    resolve_config,
)
from ganbench.data.identity import REFERENCE_TAG, experiment_name
from ganbench.distributed import from_environment, join
from ganbench.errors import ConfigError, GanbenchError
from ganbench.filesystem import ensure_writable, explaining_write_errors
from ganbench.registry import Registry
from ganbench.tracking.runs import CHECKPOINT_TAG, SilentTracker, Tracker, TrackingUnavailable, default_tracking_uri
from ganbench.tracking.ui import runs_views
from ganbench.training.assembly import build_components
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.loop import EvaluationCallback, Outcome, Trainer
from ganbench.training.out_of_memory import explaining_out_of_memory
from ganbench.training.precision import check_precision
from ganbench.version import __version__


def make_tracker(config: RunConfig) -> Tracker:
    results = Path(config.results_dir)
    return Tracker(config.tracking_uri or default_tracking_uri(results), results / "mlartifacts")


def find_checkpoint(resume: str, flags: Mapping[str, Any], which: str = "last") -> Path:
    """A checkpoint file, or the ``which`` checkpoint (one of RUN_CHECKPOINTS) of the MLflow run with that id."""
    path = Path(resume).expanduser()
    if path.is_file():
        return path
    base = RunConfig(**{key: flags[key] for key in ("results_dir", "tracking_uri") if flags.get(key)})
    tracker = make_tracker(base)
    tags = tracker.run_tags(resume)
    # the tag records the run's last checkpoint; its run folder holds the others
    recorded = Path(tags[CHECKPOINT_TAG]).parents[1] / checkpoint_file(which) if CHECKPOINT_TAG in tags else None
    if recorded and recorded.is_file():
        return recorded
    try:
        return tracker.download_artifact(
            resume, checkpoint_file(which), Path(base.results_dir) / "cache" / "downloads" / resume
        )
    except GanbenchError as exc:
        raise GanbenchError(
            f"Run {resume} has no {checkpoint_file(which)} ({recorded or 'no path recorded'} is gone and the run "
            "stored none as an artifact)."
            + (" The best is saved at a run's first evaluation." if which == "best" else "")
        ) from exc


def resolve_resumed(
    checkpoint: dict[str, Any],
    registry: Registry,
    file_values: Mapping[str, Any],
    flags: Mapping[str, Any],
    flags_source: str = "command line",
) -> ResolvedConfig:
    """The checkpoint's config with the user's overrides (e.g. more --steps); what the weights depend on stays."""
    base = RunConfig(**checkpoint["config"])
    resolved = resolve_config(registry, file_values, flags, base=base, flags_source=flags_source)
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
    flags_source: str = "command line",
) -> Outcome:
    """Train (or resume) one run. ``tags`` go on a new MLflow run (e.g. a search's parent run id);
    ``on_start`` gets the run's id as soon as it exists; ``on_evaluation`` sees every evaluation;
    ``flags_source`` names where ``flags`` came from in messages.

    Under torchrun this is one rank of a data-parallel run: rank 0 alone prints and tracks.
    """
    world = from_environment()
    if not world.is_main:
        console = Console(quiet=True)
    checkpoint = load_checkpoint(find_checkpoint(resume, flags)) if resume else None
    resolved = (
        resolve_resumed(checkpoint, registry, file_values, flags, flags_source)
        if checkpoint
        else resolve_config(registry, file_values, flags, flags_source=flags_source)
    )
    config = resolved.config
    ensure_writable(Path(config.results_dir))
    console.print(
        f"[bold]ganbench run[/]: {config.model} on {config.dataset} at {config.resolution}px, "
        f"{config.steps} steps, seed {config.seed}"
    )
    if resolved.sources:
        console.print(resolved.short(), style="dim", highlight=False)
    components = build_components(config, registry, world)
    check_precision(config.precision, components.device)
    console.print(
        f"device {components.device}, {len(components.dataset)} training images, "
        f"{sum(p.numel() for p in components.model.parameters()):,} parameters",
        style="dim",
    )
    join(world, components.device)
    reference_data = components.evaluator.reference_key["data"]
    main_tracker = start_tracking(config, registry, checkpoint, tags, reference_data) if world.is_main else None
    run_id = world.broadcast(main_tracker.run_id if main_tracker else "")
    tracking_uri = config.tracking_uri or default_tracking_uri(Path(config.results_dir))
    tracker = main_tracker or SilentTracker(run_id, tracking_uri)
    if on_start:
        on_start(tracker.run_id)
    run_dir = Path(config.results_dir) / "runs" / tracker.run_id
    trainer = Trainer(config, components, tracker, run_dir, console, on_evaluation)
    try:
        with explaining_write_errors(run_dir), explaining_out_of_memory(components.device, config.batch_size):
            if checkpoint:
                trainer.load_state(checkpoint)
                console.print(f"resumed run {tracker.run_id} at step {trainer.step}")
            elif world.is_main:
                tracker.log_params(flat_params(config))
                tracker.set_tags(
                    {
                        CHECKPOINT_TAG: str(trainer.checkpoint_path.resolve()),
                        "device": str(components.device),
                        "processes": str(world.size),
                        **environment_tags(),
                    }
                )
                config_file = run_dir / "config.yaml"
                config_file.parent.mkdir(parents=True, exist_ok=True)
                config_file.write_text(yaml.safe_dump(as_dict(config), sort_keys=False))
                tracker.log_artifact(config_file)
            return trainer.fit()
    except TrackingUnavailable as error:  # the MLflow server went away mid-run: the checkpoints are intact
        trainer.fail(error)
        if not trainer.checkpoint_path.exists():
            raise
        raise TrackingUnavailable(
            f"{error} The run's last checkpoint, {trainer.checkpoint_path}, is intact: when the server answers "
            f"again, continue with `ganbench run --resume {trainer.checkpoint_path}`."
        ) from error
    except BaseException as error:
        trainer.fail(error)
        raise


def environment_tags() -> dict[str, str]:
    """What a seed's numbers depend on besides the configuration: the same seed reproduces a run bit for bit
    only with the same torch and, on CPU, the same thread count (it changes the order of float sums) and the
    same vector instructions (torch picks its kernels by them)."""
    return {
        "torch": torch.__version__,
        "cpu_threads": str(torch.get_num_threads()),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "platform": platform.platform(),
    }


def start_tracking(
    config: RunConfig,
    registry: Registry,
    checkpoint: dict[str, Any] | None,
    tags: Mapping[str, str] | None,
    reference_data: str,
) -> Tracker:
    """The run's MLflow run: the checkpoint's, reopened, or a new one with ``tags`` and ``reference_data``
    (the evaluator's reference identity, ``DataIdentity.describe``)."""
    tracker = make_tracker(config)
    if checkpoint:
        tracker.resume(checkpoint["run_id"])
        return tracker
    tracker.start(
        experiment_name(config, registry),
        config.run_name or f"{config.model}-{config.dataset}-s{config.seed}",
        {
            "model": config.model,
            "dataset": config.dataset,
            REFERENCE_TAG: reference_data,
            "loss": config.loss,
            "ganbench.version": __version__,
            **(tags or {}),
        },
    )
    tracker.share_views(runs_views({m: registry.get("metric", m).higher_is_better for m in config.metrics}))
    return tracker
