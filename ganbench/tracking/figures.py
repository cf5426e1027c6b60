"""Pictures of a leaderboard: the budget curves of its searched rows, one figure per protocol."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from ganbench.tracking.leaderboard import Leaderboard, Ranking


def draw_budget_curves(board: Leaderboard, ranking: Ranking, path: Path) -> Path:
    """Every searched row's expected best after k trials, with the band where 95% of such searches end,
    against trials and against wall-clock hours (k times the row's mean hours per trial)."""
    if not ranking.budgets:
        raise ValueError("draw_budget_curves needs a ranking with search trials (ranking.budgets)")
    figure, (by_trials, by_hours) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for budget in ranking.budgets:
        curve = budget.curve
        trials = np.arange(1, curve.trials + 1)
        for axis, x in ((by_trials, trials), (by_hours, trials * budget.hours_per_trial)):
            (line,) = axis.plot(x, curve.expected, marker="o", markersize=3, label=f"{budget.label} ({curve.trials})")
            axis.fill_between(x, curve.low, curve.high, color=line.get_color(), alpha=0.18, linewidth=0)
    by_trials.set_xlabel("trials in the search (k)")
    by_hours.set_xlabel("hours of training (k × the mean wall-clock hours of a trial)")
    by_trials.set_ylabel(f"best {board.metric} of a search of k trials")
    for axis in (by_trials, by_hours):
        axis.grid(alpha=0.3)
    by_trials.legend(title="model/loss (trials run)", fontsize=8)
    figure.suptitle(
        f"{board.dataset}: expected best {board.metric} ({board.direction}); band: where 95% of searches end",
        fontsize=11,
    )
    figure.text(0.5, -0.02, f"protocol: {ranking.protocol}", ha="center", fontsize=7, wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
