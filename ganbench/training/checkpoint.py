"""Checkpoints: written atomically, read with errors that say what is wrong."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ganbench.errors import GanbenchError
from ganbench.filesystem import atomic_save, write_atomically

FORMAT = "ganbench-checkpoint-1"
# Checkpoints pickle a run's history (evaluations, metric results, the best so far) by class path. These
# classes lived in modules of ganbench's flat layout, before 0.1.0's packages; a checkpoint written then
# names the old modules.
MOVED_MODULES = {
    "ganbench.training": "ganbench.training.loop",
    "ganbench.monitor": "ganbench.training.monitor",
    "ganbench.evaluation": "ganbench.evaluation.evaluator",
}


class _Unpickler(pickle.Unpickler):
    """Finds the classes of checkpoints written by earlier layouts where they live now."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


# what torch.load takes as its pickle module: pickle, with the unpickler above
_MOVED_AWARE_PICKLE = SimpleNamespace(**{**vars(pickle), "Unpickler": _Unpickler})


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically."""
    atomic_save(path, {"format": FORMAT, **state})


def copy_checkpoint(source: Path, path: Path) -> None:
    """Copy a checkpoint file atomically (the best checkpoint is a copy of the last one)."""
    with source.open("rb") as original:
        write_atomically(path, lambda tmp: shutil.copyfileobj(original, tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a ganbench checkpoint onto the CPU."""
    if not path.is_file():
        raise GanbenchError(
            f"Checkpoint {path} does not exist. Pass a checkpoint file or the MLflow run id of a ganbench run."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_MOVED_AWARE_PICKLE)
    except Exception as exc:
        raise GanbenchError(
            f"Checkpoint {path} cannot be read ({exc}). It may be truncated or not a ganbench checkpoint; "
            "resume from another checkpoint of the run."
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanbenchError(f"{path} is not a ganbench checkpoint (expected format {FORMAT}).")
    return state
