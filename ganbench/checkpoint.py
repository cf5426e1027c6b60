"""Checkpoints: written atomically, read with errors that say what is wrong."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from ganbench.errors import GanbenchError
from ganbench.filesystem import explaining_write_errors

FORMAT = "ganbench-checkpoint-1"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically."""
    atomic_save(path, {"format": FORMAT, **state})


def atomic_save(path: Path, obj: Any) -> None:
    """``torch.save`` so that a reader sees the old file or the new one, never half of one."""
    # Serialised in memory first: torch's writer reports a full disk as an opaque RuntimeError,
    # a plain file write as the OSError it is.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    _write_atomically(path, lambda tmp: tmp.write(buffer.getbuffer()))


def copy_checkpoint(source: Path, path: Path) -> None:
    """Copy a checkpoint file atomically (the best checkpoint is a copy of the last one)."""
    with source.open("rb") as original:
        _write_atomically(path, lambda tmp: shutil.copyfileobj(original, tmp))


def _write_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    with explaining_write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as tmp:
                write(tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a ganbench checkpoint onto the CPU."""
    if not path.is_file():
        raise GanbenchError(
            f"Checkpoint {path} does not exist. Pass a checkpoint file or the MLflow run id of a ganbench run."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise GanbenchError(
            f"Checkpoint {path} cannot be read ({exc}). It may be truncated or not a ganbench checkpoint; "
            "resume from another checkpoint of the run."
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanbenchError(f"{path} is not a ganbench checkpoint (expected format {FORMAT}).")
    return state
