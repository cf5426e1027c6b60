"""Building blocks for dataset plugins that read an existing copy of an official dataset from --data-dir.

ganbench never downloads at run time: a missing or damaged file stops the run with a
DatasetError that says which files are expected where and how to get them. Plugins whose
conversion is slow keep the converted tensors under the cache folder (see ``cached``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torchvision.datasets.utils import check_md5

from ganbench.errors import DatasetError

log = logging.getLogger(__name__)


def candidate_folders(root: Path | None, dataset: str, folder: str) -> list[Path]:
    """Where the official folder ``folder`` may lie: in --data-dir, in --data-dir/<dataset>, or be --data-dir."""
    if root is None:
        return []
    candidates = [root / folder, root / dataset / folder]
    return [root, *candidates] if root.name == folder else candidates


def find_folder(dataset: str, root: Path | None, folder: str, needed: Sequence[str], how_to_get: str) -> Path:
    """The first candidate folder holding every name in ``needed``, else a DatasetError saying what is missing where."""
    candidates = candidate_folders(root, dataset, folder)
    for candidate in candidates:
        if all((candidate / name).exists() for name in needed):
            return candidate
    raise _missing(dataset, root, folder, candidates, needed, how_to_get)


def _missing(
    dataset: str, root: Path | None, folder: str, candidates: list[Path], needed: Sequence[str], how_to_get: str
) -> DatasetError:
    expected = f"{dataset} reads an existing copy of its official files: {', '.join(needed)}, in a folder {folder}"
    if root is None:
        return DatasetError(
            f"{expected} under --data-dir, which is not set. Pass --data-dir with the folder that holds {folder}. "
            f"{how_to_get}"
        )
    searched = ", ".join(str(candidate) for candidate in candidates)
    present = [candidate for candidate in candidates if candidate.is_dir()]
    if present:
        lacking = [name for name in needed if not (present[0] / name).exists()]
        found = f"{present[0]} lacks {', '.join(lacking)}"
    else:
        found = "none of those folders exists"
    return DatasetError(f"{expected} (searched: {searched}); {found}. {how_to_get}")


def verify_checksums(dataset: str, folder: Path, checksums: Mapping[str, str], how_to_get: str) -> None:
    """Check files against their official MD5 sums (as torchvision records them), naming every file that differs."""
    damaged = [name for name, md5 in checksums.items() if not check_md5(folder / name, md5)]
    if damaged:
        raise DatasetError(
            f"{dataset}: {', '.join(damaged)} in {folder} differ from the official files (MD5 checksum): "
            f"they are damaged, truncated or from another release. Replace them. {how_to_get}"
        )


def source_stamp(paths: Sequence[Path]) -> list[tuple[str, int, int]]:
    """Path, size and modification time of each source: part of a cache key, so a changed source is reconverted."""
    stamps = []
    for path in paths:
        stat = path.stat()
        stamps.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    return stamps


def cached(
    cache_dir: Path, name: str, key: Mapping[str, Any], convert: Callable[[], dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """The tensors ``convert`` returns, kept in ``cache_dir`` under ``key`` (JSON-serialisable) for the next load.

    The file is named by a hash of ``key`` and holds the key itself: a file that cannot be read
    (damaged, or written by another version of ganbench in another format) or that holds another
    key is converted again, with a warning, and never served. It appears in one step (written beside
    it, then renamed), so a crash or a concurrent run never leaves a partial cache behind.
    """
    listing = json.dumps(key, sort_keys=True)
    path = cache_dir / f"{name}-{hashlib.sha256(listing.encode()).hexdigest()[:16]}.pt"
    if path.is_file():
        try:
            # mapped rather than read: CelebA's train split at 128 px is 8 GB
            saved = torch.load(path, weights_only=True, mmap=True)
            if isinstance(saved, dict) and saved.get("key") == listing:
                return saved["tensors"]
            problem = "it was written for other data or by another version of ganbench"
        except Exception as exc:  # torch.load raises many kinds on a damaged or foreign file
            problem = f"it cannot be read ({exc})"
        log.warning("Converting %s again: its cache %s is unusable (%s).", name, path, problem)
    tensors = convert()
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save({"key": listing, "tensors": tensors}, file)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return tensors


def folder_files(root: Path, extensions: Sequence[str]) -> list[tuple[str, int, int]]:
    """Every file under ``root`` ending in one of ``extensions`` (any case), as (relative path, size in bytes,
    modification time in ns), sorted by path: what ``fingerprint`` and cache keys are computed from."""
    suffixes = tuple(extension.lower() for extension in extensions)
    entries = []
    for folder, _, names in os.walk(root, followlinks=True):
        for name in names:
            if name.lower().endswith(suffixes):
                path = Path(folder) / name
                stat = path.stat()
                entries.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(entries)


def fingerprint(files: Sequence[tuple[str, int, int]], with_times: bool = False) -> str:
    """What identifies a folder's data: a hash of its files' relative paths and sizes (from ``folder_files``).

    Times are left out by default so that a copy of the same files elsewhere (another machine, a
    scratch disk) has the same fingerprint; a cache key takes them too (``with_times``), so that a
    file rewritten in place is never served from the cache.
    """
    listing = json.dumps([entry if with_times else entry[:2] for entry in files])
    return hashlib.sha256(listing.encode()).hexdigest()[:16]
