"""Clear errors for results that cannot be written: a full disk, a read-only or missing folder."""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ganbench.errors import GanbenchError

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST})


class StorageError(GanbenchError):
    """A file ganbench had to write could not be written."""


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
