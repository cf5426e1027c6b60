"""One generic training loop for every GAN.

The loop owns optimisation, logging, evaluation, checkpoints and interruption; a model
owns its losses (``GAN.discriminator_loss`` / ``GAN.generator_loss``).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganbench.config import RunConfig, as_dict, checkpoint_file
from ganbench.data.batches import real_batches
from ganbench.data.images import to_uint8
from ganbench.errors import GanbenchError, TrainingDiverged
from ganbench.evaluation.evaluator import MetricResult
from ganbench.model import GAN
from ganbench.tracking.runs import Tracker
from ganbench.training.assembly import Components, memory_format
from ganbench.training.checkpoint import copy_checkpoint, save_checkpoint
from ganbench.training.monitor import BestSoFar, stall, watched
from ganbench.training.optim import build_optimizer, build_schedule
from ganbench.training.precision import autocast, grad_scaler
from ganbench.training.records import record_run, save_samples
from ganbench.version import __version__


class StopRequested(Exception):
    """The user pressed Ctrl-C: stop at the next safe point and save."""


class EarlyStop(Exception):
    """Raised by an evaluation callback: the run has gone far enough (e.g. a search pruned it).

    The run ends FINISHED at the evaluated step, with its checkpoint saved and the message as
    the reason.
    """


# Called after each evaluation (and its checkpoint) with the step and the results; may raise EarlyStop.
EvaluationCallback = Callable[[int, list[MetricResult]], None]


@dataclass
class Evaluation:
    step: int
    results: list[MetricResult]


@dataclass
class Outcome:
    """What the summary reports."""

    run_id: str
    status: str
    step: int
    steps: int
    wall_seconds: float
    images_per_second: float
    evaluations: list[Evaluation]
    run_dir: Path
    checkpoint: Path | None
    tracking_uri: str
    message: str = ""
    best: BestSoFar | None = None
    best_checkpoint: Path | None = None


@dataclass
class History:
    """Everything plotted at the end; kept in checkpoints so a resumed run's curves are whole."""

    losses: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: {"loss_d": [], "loss_g": []})
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)
    train_seconds: float = 0.0
    best: BestSoFar | None = None  # None also in checkpoints written before best checkpoints existed


class Trainer:
    def __init__(
        self,
        config: RunConfig,
        components: Components,
        tracker: Tracker,
        run_dir: Path,
        console: Console,
        on_evaluation: EvaluationCallback | None = None,
    ) -> None:
        self.config = config
        self.on_evaluation = on_evaluation
        self.c = components
        self.tracker = tracker
        self.run_dir = run_dir
        self.console = console
        model = components.model
        self.opt_g = build_optimizer(model.generator, config.lr_g, config)
        self.opt_d = build_optimizer(model.discriminator, config.lr_d, config)
        self.schedules = (
            [build_schedule(optimizer, config) for optimizer in (self.opt_g, self.opt_d)]
            if config.lr_schedule != "constant"
            else []
        )
        self.memory_format = memory_format(config)
        self.ema = (
            averaged_generator(model.generator, config.ema_decay, config.ema_rampup) if config.ema_decay > 0 else None
        )
        if config.compile:  # in place, after the EMA copied G: state dicts keep their keys, the average stays eager
            model.generator.compile()
            model.discriminator.compile()
        self.world = components.world
        self.local_batch_size = self.world.share(config.batch_size)
        self.scaler_g, self.scaler_d = (grad_scaler(config.precision, components.device) for _ in range(2))
        self.step = 0
        self.history = History()
        self.history.best = watched(self.config, self.history.best)
        self._stop = False

    @property
    def evaluated_model(self) -> GAN:
        """The model as evaluated: with the averaged generator once EMA's average has started."""
        return with_average(self.c.model, self.ema)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / checkpoint_file("last")

    @property
    def best_checkpoint_path(self) -> Path:
        return self.run_dir / checkpoint_file("best")

    # ------------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        return {
            "ganbench_version": __version__,
            "config": as_dict(self.config),
            "run_id": self.tracker.run_id,
            "step": self.step,
            "model": self.c.model.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "schedules": [schedule.state_dict() for schedule in self.schedules],
            "ema": self.ema.state_dict() if self.ema else None,
            "regularizers": self.c.objective.state_dict(),
            "scalers": [self.scaler_g.state_dict(), self.scaler_d.state_dict()],  # empty unless fp16
            "history": self.history,
            "rng": self._rng_state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        try:
            self.c.model.load_state_dict(state["model"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            for schedule, schedule_state in zip(self.schedules, state["schedules"], strict=True):
                schedule.load_state_dict(schedule_state)
            if self.ema:
                self.ema.load_state_dict(state["ema"])
            if "regularizers" in state:  # checkpoints before regularizers had state have none
                self.c.objective.load_state_dict(state["regularizers"])
            for scaler, saved in zip((self.scaler_g, self.scaler_d), state.get("scalers", ({}, {})), strict=True):
                if saved:  # a run resumed at fp16 from another precision starts a fresh scale
                    scaler.load_state_dict(saved)
        except (RuntimeError, ValueError, KeyError) as exc:
            written = state.get("ganbench_version")
            versions = (
                f" It was written by ganbench {written}; this is {__version__}." if written != __version__ else ""
            )
            raise GanbenchError(
                f"The checkpoint does not fit {self.config.model} as configured ({_first_lines(str(exc))}).{versions} "
                "Resume with the settings the run was started with, or with the ganbench version that wrote it."
            ) from exc
        self.step = state["step"]
        self.history = state["history"]
        self.history.best = watched(self.config, self.history.best)
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"].get("cuda"):
            if self.world.distributed:  # every rank's GPU drew what rank 0's (cuda:0) did, which rank 0 saved
                torch.cuda.set_rng_state(state["rng"]["cuda"][0])
            else:
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    @staticmethod
    def _rng_state() -> dict[str, Any]:
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def save(self) -> Path:
        if self.world.is_main:
            save_checkpoint(self.checkpoint_path, self.state())
        return self.checkpoint_path

    # ------------------------------------------------------------------ the loop

    def fit(self) -> Outcome:
        config, model = self.config, self.c.model
        batches = real_batches(
            self.c.dataset,
            config.batch_size,
            config.seed,
            self.step * config.n_disc,
            config.workers,
            self.world.rank,
            self.world.size,
            pin_memory=self.c.device.type == "cuda",  # so that the copies to the GPU below overlap
        )
        loss_sum = torch.zeros(2, device=self.c.device)
        interval_start, interval_steps, status, message = time.perf_counter(), 0, "FINISHED", ""
        model.train()
        with progress_bar(self.console) as progress, self._ctrl_c():
            task = progress.add_task("training", total=config.steps, completed=self.step, stats="")

            def log_interval() -> None:
                """Log the interval's mean losses; raises TrainingDiverged before anything is saved."""
                nonlocal interval_steps
                self.history.train_seconds += time.perf_counter() - interval_start
                stats = self._log_losses(self.world.mean(loss_sum / interval_steps), interval_steps, interval_start)
                progress.update(task, stats=stats)
                loss_sum.zero_()
                interval_steps = 0

            try:
                while self.step < config.steps:
                    loss_sum += self._train_step(batches)
                    self.step += 1
                    interval_steps += 1
                    progress.update(task, completed=self.step)
                    end = self.step == config.steps
                    if self.step % config.log_every == 0 or end or self.step % config.eval_every == 0:
                        log_interval()
                    if self.step % config.eval_every == 0 or end:
                        self._evaluate(progress)
                        self._save_evaluated()
                        if self.on_evaluation:
                            self.on_evaluation(self.step, self.history.evaluations[-1].results)
                        if stalled := stall(self.history.best, self.config.patience, self.step):
                            raise EarlyStop(stalled)
                    if self._stop_requested(logged=interval_steps == 0):
                        raise StopRequested
                    if interval_steps == 0:
                        interval_start = time.perf_counter()
            except EarlyStop as stop:
                message = str(stop)
            except (StopRequested, KeyboardInterrupt) as interruption:
                if self.world.distributed and isinstance(interruption, KeyboardInterrupt):
                    raise  # the ranks stopped at different points: no common state to save
                status, message = "KILLED", "Interrupted: the checkpoint holds the last completed step."
                if interval_steps:
                    log_interval()  # never save weights whose losses were not checked
                self.save()
        return self._finish(status, message)

    def _train_step(self, batches: Iterator[Sequence[torch.Tensor]]) -> torch.Tensor:
        model, objective, device, config = self.c.model, self.c.objective, self.c.device, self.config
        objective.set_progress(self.step, config.steps)
        labels = None
        conditions: dict[str, torch.Tensor] = {}
        for _ in range(config.n_disc):
            real, labels, *rest = next(batches)
            real = real.to(device, non_blocking=True, memory_format=self.memory_format)
            labels = labels.to(device, non_blocking=True) if model.conditional else None
            conditions = self._conditions(rest)
            with autocast(config.precision, device):
                d_loss = model.discriminator_loss(real, labels, objective, **conditions)
            self._update(d_loss, self.opt_d, self.scaler_d, model.discriminator)
            objective.after_discriminator_step(model.discriminator)
        model.discriminator.requires_grad_(False)  # G's step needs gradients through D, not for D
        with autocast(config.precision, device):
            g_loss = model.generator_loss(self.local_batch_size, labels, objective, **conditions)
        self._update(g_loss, self.opt_g, self.scaler_g, model.generator)
        if self.ema and self.step >= config.ema_start:
            self.ema.update_parameters(model.generator)
        model.discriminator.requires_grad_(True)
        for schedule in self.schedules:
            schedule.step()
        return torch.stack([d_loss.detach(), g_loss.detach()])

    def _update(
        self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, network: nn.Module
    ) -> None:
        """One optimizer step on ``loss``: gradients averaged over the ranks, the loss scaled at fp16."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        self.world.average_gradients(network)  # scaled gradients: every rank then sees the same infs and skips alike
        scaler.step(optimizer)
        scaler.update()

    def _stop_requested(self, logged: bool) -> bool:
        """Ctrl-C: one process stops after this step; ranks agree at a logging step, so that all stop at one step."""
        if not self.world.distributed:
            return self._stop
        return logged and self.world.any(self._stop)

    def _conditions(self, rest: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The keyword handing an image-conditioned model its batch's condition images; none for other models."""
        if not self.c.model.image_conditioned:
            return {}
        return {"conditions": rest[0].to(self.c.device, non_blocking=True, memory_format=self.memory_format)}

    def _log_losses(self, means: torch.Tensor, steps: int, since: float) -> str:
        loss_d, loss_g = means.tolist()  # the one device sync per logging interval
        if not (torch.isfinite(means).all()):
            raise TrainingDiverged(
                f"The losses became non-finite (loss_d={loss_d}, loss_g={loss_g}) between steps "
                f"{self.step - steps} and {self.step}. The run stopped; the last good checkpoint is "
                f"{self.checkpoint_path}. Try a lower learning "
                "rate or another loss."
            )
        speed = steps * self.config.batch_size * self.config.n_disc / max(time.perf_counter() - since, 1e-9)
        metrics = {"loss_d": loss_d, "loss_g": loss_g, "images_per_s": speed, **self.c.objective.logged()}
        self.tracker.log_metrics(metrics, self.step)
        self.history.losses["loss_d"].append((self.step, loss_d))
        self.history.losses["loss_g"].append((self.step, loss_g))
        return f"d {loss_d:.3f}  g {loss_g:.3f}  {speed:.0f} img/s"

    def _evaluate(self, progress: Progress) -> None:
        # evaluation's random draws (an extractor's network initialised before its weights load, a metric's
        # subsets) come from a fork of the global generator: what trains does not depend on how often it is
        # evaluated, and models drawing from that generator (per_sample) train alike under any schedule
        with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
            self._evaluate_and_record(progress)

    def _evaluate_and_record(self, progress: Progress) -> None:
        evaluator = self.c.evaluator
        task = progress.add_task("evaluating", total=None, stats="")

        def advance(n: int) -> None:
            if self._stop and not self.world.distributed:  # ranks stop together, at a logging step
                raise StopRequested
            progress.advance(task, n)

        try:
            results = (
                self._evaluate_across_ranks(advance)
                if self.world.distributed
                else evaluator.evaluate(self.evaluated_model, self.config.batch_size, advance)
            )
        finally:
            progress.remove_task(task)
        self.history.evaluations.append(Evaluation(self.step, results))
        values = {key: value for result in results if result.values for key, value in result.values.items()}
        for key, value in values.items():
            self.history.metrics.setdefault(key, []).append((self.step, value))
        self.tracker.log_metrics(values, self.step)
        # the leaderboard groups runs by the protocol tag alone: caveats go in tags of their own
        self.tracker.set_tags(
            {f"protocol.{r.metric}": r.protocol.describe() for r in results if r.protocol}
            | {f"flags.{r.metric}": "; ".join(r.flags) for r in results if r.flags}
        )
        if self.world.is_main:
            grid = save_samples(self.evaluated_model, self.c.evaluator, self.config, self.run_dir, self.step)
            self.tracker.log_artifact(grid, "samples")
        shown = "  ".join(f"{r.metric} {r.value:.4g}{'*' if r.flags else ''}" for r in results if r.values)
        flagged = " (*: flagged, see the summary)" if any(r.flags for r in results) else ""
        self.console.print(f"step {self.step}: {shown or 'no metric available'}{flagged}")

    def _evaluate_across_ranks(self, progress: Callable[[int], None]) -> list[MetricResult]:
        """What ``Evaluator.evaluate`` gives, shared out: each rank makes every n-th batch of the same images,
        rank 0 scores them all, and every rank gets the results."""
        world, evaluator, model = self.world, self.c.evaluator, self.evaluated_model
        for network in (self.c.model, self.ema):
            if network is not None:
                world.broadcast_buffers(network)
        batches = evaluator.model_batches(model, self.config.batch_size, (world.rank, world.size))
        # extractors read images as uint8 (``evaluation.extract``): gathering them so loses nothing
        gathered = world.gather([(to_uint8(images), labels) for images, labels in batches()])
        results = None
        if gathered is not None:
            ordered = [gathered[i % world.size][i // world.size] for i in range(sum(map(len, gathered)))]
            results = evaluator.evaluate_images(
                lambda: ((images.float() / 127.5 - 1, labels) for images, labels in ordered),
                progress,
                evaluator.pairs_with(model),
            )
        shared = world.broadcast(results)
        assert shared is not None, "rank 0 scored the evaluation"
        return shared

    def _save_evaluated(self) -> None:
        """The last checkpoint, and a copy as the best one when this evaluation is the best so far."""
        best = self.history.best
        improved = best is not None and best.update(self.step, self.history.evaluations[-1].results)
        self.save()
        if improved and self.world.is_main:
            copy_checkpoint(self.checkpoint_path, self.best_checkpoint_path)

    def _finish(self, status: str, message: str) -> Outcome:
        run_dir, history = self.run_dir, self.history
        best_checkpoint = self.best_checkpoint_path if self.best_checkpoint_path.exists() else None
        if self.world.is_main:
            if not self.checkpoint_path.exists():  # resumed from a file elsewhere with no step left to train
                self.save()
            record_run(self.tracker, self.config, history, run_dir, self.checkpoint_path, best_checkpoint, self.step)
            self.tracker.end(status)
        images = self.step * self.config.batch_size * self.config.n_disc
        return Outcome(
            self.tracker.run_id,
            status,
            self.step,
            self.config.steps,
            history.train_seconds,
            images / max(history.train_seconds, 1e-9),
            history.evaluations,
            run_dir,
            self.checkpoint_path,
            self.tracker.tracking_uri,
            message,
            history.best,
            best_checkpoint,
        )

    def fail(self, error: BaseException) -> None:
        """Mark the run FAILED (KILLED for Ctrl-C); checkpoints already written stay as they are."""
        try:
            self.tracker.set_tags({"ganbench.error": str(error)[:5000] or type(error).__name__})
            self.tracker.end("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        except GanbenchError:
            pass  # the store itself is what failed; the original error is the one to report

    @contextmanager
    def _ctrl_c(self) -> Iterator[None]:
        """First Ctrl-C: stop at the next safe point and save. Second: stop now."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum: int, frame: Any) -> None:
            if self._stop:
                raise KeyboardInterrupt
            self._stop = True
            self.console.print("[yellow]Stopping after this step and saving a checkpoint (Ctrl-C again to stop now).")

        previous = signal.signal(signal.SIGINT, request_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _first_lines(text: str, keep: int = 3) -> str:
    """A long error (one line per mismatched tensor) cut to its first lines and a count of the rest."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rest = f" ... and {len(lines) - keep} more" if len(lines) > keep else ""
    return " ".join(lines[:keep]) + rest


Tensors = list[torch.Tensor] | tuple[torch.Tensor, ...]


def averaged_generator(generator: torch.nn.Module, decay: float, rampup: float = 0.0) -> AveragedModel:
    """An exponential moving average of ``generator``'s weights and buffers, as a run keeps and evaluates it;
    with ``rampup``, its decay ramps up to ``decay`` (``ramped_decay``)."""
    if not rampup:
        return AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)

    def update(averaged: Tensors, current: Tensors, steps: torch.Tensor | int) -> None:
        get_ema_multi_avg_fn(ramped_decay(decay, rampup, int(steps)))(averaged, current, steps)

    return AveragedModel(generator, multi_avg_fn=update, use_buffers=True)


def ramped_decay(decay: float, rampup: float, steps: int) -> float:
    """The decay of an average's update after ``steps`` averaged steps, as StyleGAN2's ema_rampup sets it: the
    half-life (in steps) is ``rampup * steps`` until that reaches the half-life of ``decay``."""
    half_life = min(math.log(0.5) / math.log(decay), rampup * steps)
    return 0.5 ** (1 / half_life)


def with_average(model: GAN, average: AveragedModel | None) -> GAN:
    """``model`` with ``average``'s generator once it has averaged a step; before that (or without one) G itself."""
    return model.with_generator(average.module) if average is not None and average.n_averaged else model


def progress_bar(console: Console) -> Progress:
    """Bars with a ``stats`` text field (pass ``stats=""`` to ``add_task``), elapsed and remaining time."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
