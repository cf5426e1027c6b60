"""The report's pictures of training: each model's metric against step, and its losses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

History = Sequence[tuple[int, float]]  # (step, value), by step


def draw_metric_curves(
    best: Mapping[str, History], seeds: Mapping[str, Sequence[History]], metric: str, title: str, path: Path
) -> Path:
    """For each model its best run's ``metric`` against step, and with 2+ seeds the band between the lowest and
    highest seed at the steps every seed evaluated."""
    figure, axis = plt.subplots(figsize=(8, 4.2))
    for label, history in best.items():
        if not history:
            continue
        steps, values = zip(*history, strict=True)
        (line,) = axis.plot(steps, values, marker="o", markersize=3, label=f"{label} (best run)")
        runs = seeds.get(label, ())
        if len(runs) >= 2:
            common = sorted(set.intersection(*(set(dict(run)) for run in runs)))
            if common:
                table = np.array([[dict(run)[step] for step in common] for run in runs])
                axis.fill_between(common, table.min(axis=0), table.max(axis=0), color=line.get_color(), alpha=0.15)
                line.set_label(f"{label} (best run; band: {len(runs)} seeds)")
    axis.set_xlabel("training step")
    axis.set_ylabel(metric)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title, fontsize=10)
    return _save(figure, path)


def draw_loss_curves(losses: Mapping[str, Mapping[str, History]], title: str, path: Path) -> Path:
    """The discriminator's and the generator's loss of each model's best run, side by side."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for axis, key, name in zip(axes, ("loss_d", "loss_g"), ("discriminator", "generator"), strict=True):
        for label, by_key in losses.items():
            if by_key.get(key):
                axis.plot(*zip(*by_key[key], strict=True), label=label, linewidth=1)
        axis.set_title(f"{name} loss ({key})", fontsize=10)
        axis.set_xlabel("training step")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path
