"""Optuna's own pictures of a study (optimization history, parameter importances, parallel coordinates)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from optuna.visualization import matplotlib as optuna_plots  # noqa: E402

PLOTS: dict[str, Callable[[optuna.Study], Any]] = {
    "optimization_history": optuna_plots.plot_optimization_history,
    "param_importances": optuna_plots.plot_param_importances,
    "parallel_coordinate": optuna_plots.plot_parallel_coordinate,
}
# Importances compare parameters across completed trials: fewer than this says nothing.
MIN_TRIALS_FOR_IMPORTANCES = 3


def save_study_plots(study: optuna.Study, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """PNGs of the plots that can be drawn, and for the others why not."""
    folder.mkdir(parents=True, exist_ok=True)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    saved, missing = [], {}
    for name, plot in PLOTS.items():
        if not complete:
            missing[name] = "no trial completed"
            continue
        if name == "param_importances" and len(complete) < MIN_TRIALS_FOR_IMPORTANCES:
            missing[name] = f"{len(complete)} completed trials; importances need {MIN_TRIALS_FOR_IMPORTANCES}"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                warnings.simplefilter("ignore", UserWarning)  # e.g. "few trials per regime": the plot says enough
                axes = plot(study)
        except (ValueError, RuntimeError) as exc:  # e.g. every completed trial has the same parameters
            missing[name] = str(exc)
            continue
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
        figure.set_size_inches(9, 5)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        saved.append(path)
    return saved, missing
