"""Reference statistics files: ganbench's export, their checks, and scoring against them (--reference-stats)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import ganbench
from ganbench import GanbenchError, MetricInput, MetricSpec, hookimpl
from ganbench.evaluation.statistics_file import read_statistics, write_statistics
from ganbench.registry import build_registry
from tests.support import fast_plugin

SHAPES = {"dataset": "shapes", "dataset_options": {"size": 256}, "reference_samples": 32}


class _FeatureMetric:
    """A metric that needs the reference features themselves, not only their mean and covariance."""

    @hookimpl
    def ganbench_metrics(self) -> list[MetricSpec]:
        def nearest(inputs: MetricInput) -> dict[str, float]:
            return {"pixel-nearest": torch.cdist(inputs.fake, inputs.real).min(dim=1).values.mean().item()}

        return [
            MetricSpec(
                "pixel-nearest", "Mean distance to the nearest reference (tests only).", "pixels", "flat", nearest
            )
        ]


def test_written_statistics_read_back_as_pytorch_fid_and_clean_fid_read_them(tmp_path: Path) -> None:
    features = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    written = write_statistics(tmp_path / "ref.npz", features, {"reference": "noise/test", "samples": 50})
    with np.load(tmp_path / "ref.npz") as saved:  # what those tools do: two arrays by name
        np.testing.assert_allclose(saved["mu"], features.numpy().mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(saved["sigma"], np.cov(features.numpy(), rowvar=False), rtol=1e-6)
        assert json.loads(str(saved["ganbench"])) == {"reference": "noise/test", "samples": 50}
    assert written.dimension == 6 and written.identity.startswith("ref.npz (sha256 ")
    assert read_statistics(tmp_path / "ref.npz").identity == written.identity


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        (None, "does not exist"),
        ({"mu": np.zeros(3)}, "has no sigma array"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, "mu of shape \\(3,\\) and sigma of shape \\(4, 4\\)"),
        ({"mu": np.array([0.0, np.nan]), "sigma": np.eye(2)}, "non-finite"),
        (b"not a zip file", "not a readable .npz"),
    ],
)
def test_a_bad_statistics_file_is_refused_with_what_it_should_hold(tmp_path: Path, arrays, problem) -> None:
    path = tmp_path / "stats.npz"
    if isinstance(arrays, bytes):
        path.write_bytes(arrays)
    elif arrays is not None:
        np.savez(path, **arrays)
    with pytest.raises(GanbenchError, match=problem) as raised:
        read_statistics(path)
    assert "mu (D,) and sigma (D, D)" in str(raised.value)


def test_export_then_score_against_the_file_gives_the_value_of_the_images(tmp_path: Path, fast_flags) -> None:
    registry = build_registry(extra_plugins=(fast_plugin, _FeatureMetric()))
    results = fast_flags["results_dir"]
    run = ganbench.train(fast_flags, quiet=True, registry=registry)
    stats = tmp_path / "shapes-train.npz"
    ganbench.export_statistics(stats, metric="pixel-fid", results_dir=results, quiet=True, registry=registry, **SHAPES)
    with np.load(stats) as saved:
        provenance = json.loads(str(saved["ganbench"]))
    assert provenance["samples"] == 32 and provenance["extractor"] == "pixels"
    assert provenance["reference"].startswith("shapes[size=256]/train")  # with its data identity

    scored = {"metrics": ["pixel-fid", "pixel-nearest"], "eval_samples": 32, "results_dir": results}
    against_images = ganbench.evaluate(run.run_id, quiet=True, registry=registry, **scored)
    against_file = ganbench.evaluate(run.run_id, reference_stats=str(stats), quiet=True, registry=registry, **scored)
    assert against_file.values["pixel-fid"] == pytest.approx(against_images.values["pixel-fid"], rel=1e-5)
    fid = next(r for r in against_file.results if r.metric == "pixel-fid")
    assert fid.protocol.describe().endswith(f"32 generated vs statistics {read_statistics(stats).identity}, 32px")
    assert fid.protocol != next(r for r in against_images.results if r.metric == "pixel-fid").protocol
    assert all("reference" not in flag for flag in fid.flags)  # the file's sample count is unknown: no claim on it
    assert "pixel-nearest" in against_images.values and "pixel-nearest" not in against_file.values
    assert "--reference-stats" in against_file.unavailable["pixel-nearest"]


def test_export_refuses_a_metric_without_reference(tmp_path: Path, registry) -> None:
    with pytest.raises(GanbenchError, match="no reference"):
        ganbench.export_statistics(tmp_path / "x.npz", metric="is", quiet=True, registry=registry)
