"""Writing results: atomic writes, and clear errors for what cannot be written (a full disk, a read-only folder)."""

from __future__ import annotations

import errno
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import torch

from ganbench.errors import GanbenchError

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST})


class StorageError(GanbenchError):
    """A file ganbench had to write could not be written."""


def file_name(text: str) -> str:
    """``text`` as a file name on any system: e.g. "imagefolder:cards-fid" -> "imagefolder_cards-fid"."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


def write_error(error: OSError, path: Path | str | None = None) -> StorageError | None:
    """What to tell the user about ``error`` raised while writing ``path``; None when it is no write failure."""
    where = path or error.filename or "a results file"
    if error.errno in DISK_FULL:
        return StorageError(
            f"The disk is full: {where} could not be written ({error.strerror}). Files written before are "
            "intact. Free some space (or pass --results-dir on another disk) and resume with "
            "`ganbench run --resume RUN_ID`."
        )
    if error.errno in NOT_WRITABLE:
        return StorageError(f"{where} cannot be written ({error.strerror}). Pass --results-dir a folder you can write.")
    return None


@contextmanager
def explaining_write_errors(path: Path | str | None = None) -> Iterator[None]:
    """Turn a failed write inside the block into a ``StorageError`` that says what to do."""
    try:
        yield
    except OSError as error:
        translated = write_error(error, path)
        if translated is None:
            raise
        raise translated from error


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` and write a probe file in it, so that an unwritable results folder fails before any work."""
    with explaining_write_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass


def atomic_save(path: Path, obj: Any) -> None:
    """``torch.save`` so that a reader sees the old file or the new one, never half of one."""
    # Serialised in memory first: torch's writer reports a full disk as an opaque RuntimeError,
    # a plain file write as the OSError it is.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomically(path, lambda tmp: tmp.write(buffer.getbuffer()))


def write_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write ``path`` through ``write`` on a temporary file that replaces it only when complete."""
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
