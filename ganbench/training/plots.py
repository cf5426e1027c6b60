"""Pictures people would rather look at than read: sample grids and training curves."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import save_image  # noqa: E402


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> Path:
    """Images in [-1, 1] as one PNG grid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(
        images,
        path,
        nrow=nrow or int(math.ceil(math.sqrt(images.shape[0]))),
        normalize=True,
        value_range=(-1, 1),
        padding=1,
    )
    return path


def save_condition_grid(
    conditions: torch.Tensor, generated: torch.Tensor, real: torch.Tensor, path: Path, per_row: int | None = None
) -> Path:
    """Triplets condition | generated | real of the same indices side by side, ``per_row`` triplets to a row
    (default: a roughly square grid). Grey tiles are shown in RGB when the others are in colour."""
    channels = max(tiles.shape[1] for tiles in (conditions, generated, real))
    columns = [tiles.expand(-1, channels, -1, -1) for tiles in (conditions, generated, real)]
    per_row = per_row or max(1, round(math.sqrt(conditions.shape[0] / 3)))
    return save_grid(torch.stack(columns, dim=1).flatten(0, 1), path, nrow=3 * per_row)


def save_curves(series: dict[str, list[tuple[int, float]]], path: Path, title: str) -> Path:
    """One panel per series (name -> [(step, value)]), sharing the step axis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [name for name, points in series.items() if points]
    figure, axes = plt.subplots(len(names) or 1, 1, figsize=(7, 2.2 * max(len(names), 1)), sharex=True, squeeze=False)
    for axis, name in zip(axes[:, 0], names, strict=True):
        steps, values = zip(*series[name], strict=True)
        axis.plot(steps, values, marker="o" if len(steps) < 30 else None, linewidth=1.2)
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("generator step")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
