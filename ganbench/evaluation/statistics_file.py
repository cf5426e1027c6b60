"""Reference statistics as files: the mean ``mu`` and covariance ``sigma`` of reference features in an .npz,
the format pytorch-fid and clean-fid read and publish.

``ganbench stats export`` writes them from ganbench's reference features (with a ``ganbench`` entry,
JSON, saying what they were computed from, which the other tools ignore); ``--reference-stats FILE``
scores against such a file, from ganbench or elsewhere. Its identity in a protocol is its name and
the sha256 of its bytes: the same statistics under another name still compare.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics

from ganbench.errors import GanbenchError
from ganbench.filesystem import write_atomically

PROVENANCE = "ganbench"


@dataclass(frozen=True)
class ReferenceStatistics:
    """A statistics file's ``mu`` (D,) and ``sigma`` (D, D), and ``identity``: "NAME (sha256 XXXXXXXX)"."""

    mu: np.ndarray
    sigma: np.ndarray
    identity: str

    @property
    def dimension(self) -> int:
        return len(self.mu)

    def as_fid_statistics(self) -> dict[str, np.ndarray]:
        """In the form torch-fidelity's ``fid_statistics_to_metric`` takes."""
        return {"mu": self.mu, "sigma": self.sigma}


def read_statistics(path: Path | str) -> ReferenceStatistics:
    """The statistics in ``path``, checked: ``mu`` a vector, ``sigma`` a square matrix of its size, both finite."""
    path = Path(path).expanduser()
    fix = "Pass an .npz with arrays mu (D,) and sigma (D, D), as pytorch-fid, clean-fid and `stats export` write."
    if not path.is_file():
        raise GanbenchError(f"The reference statistics file {path} does not exist. {fix}")
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in ("mu", "sigma") if key in saved.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise GanbenchError(f"{path} is not a readable .npz file ({exc}). {fix}") from exc
    if set(arrays) != {"mu", "sigma"}:
        raise GanbenchError(f"{path} has no {' and no '.join(sorted({'mu', 'sigma'} - set(arrays)))} array. {fix}")
    mu, sigma = arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64)
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise GanbenchError(f"{path} holds mu of shape {mu.shape} and sigma of shape {sigma.shape}. {fix}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise GanbenchError(f"{path} holds non-finite values in mu or sigma: it is damaged. {fix}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return ReferenceStatistics(mu, sigma, f"{path.name} (sha256 {digest})")


def write_statistics(path: Path | str, features: torch.Tensor, provenance: Mapping[str, Any]) -> ReferenceStatistics:
    """Write the mean and covariance of ``features`` (N, D) to ``path`` (.npz), with ``provenance`` as JSON."""
    path = Path(path).expanduser()
    if path.suffix != ".npz":
        raise GanbenchError(f"{path} should end in .npz: pytorch-fid and clean-fid read statistics from .npz files.")
    statistics = fid_features_to_statistics(features.detach().cpu())  # as FID computes them from features
    arrays = {**statistics, PROVENANCE: np.array(json.dumps(provenance, sort_keys=True, default=str))}
    write_atomically(path, lambda handle: np.savez_compressed(handle, **arrays))
    return read_statistics(path)
