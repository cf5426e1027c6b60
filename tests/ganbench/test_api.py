"""The Python API: the issue's snippet as a user would write it, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import ganbench
from ganbench import ConfigError, RunConfig
from tests.conftest import FAST_EXPERIMENT

TINY = {
    "dataset_options": {"size": 256},
    "model_options": {"width": 8},
    "batch_size": 16,
    "grid_size": 16,
    "eval_samples": 32,
    "reference_samples": 32,
}


@pytest.mark.slow
def test_train_evaluate_search_leaderboard_as_written(tmp_path: Path) -> None:
    results = str(tmp_path / "results")
    result = ganbench.train(
        model="dcgan", dataset="shapes", steps=4, eval_every=2, metrics=["fid", "kid"], results_dir=results, **TINY
    )
    assert (result.status, result.steps) == ("FINISHED", 4)
    assert [e.step for e in result.evaluations] == [2, 4]
    fids = [r.value for e in result.evaluations for r in e.results if r.metric == "fid"]
    assert result.final["fid"] == fids[-1] and result.best["fid"] == min(fids)
    assert set(result.final) == {"fid", "kid"} and result.unavailable == {}
    assert result.run_dir.is_dir() and result.checkpoint is not None and result.checkpoint.is_file()

    scores = ganbench.evaluate(result.run_id, metrics=["fid", "kid"], eval_samples=48, results_dir=results)
    assert set(scores.values) == {"fid", "kid"}
    assert [r.protocol.n_generated for r in scores.results] == [48, 48]  # type: ignore[union-attr]
    assert scores.record.is_file()

    study = ganbench.search(
        model="dcgan", dataset="shapes", metric="kid", trials=2, steps=2, eval_every=2, results_dir=results, **TINY
    )
    assert study.counts.get("COMPLETE", 0) + study.counts.get("PRUNED", 0) + study.counts.get("FAIL", 0) == 2

    board = ganbench.leaderboard(dataset="shapes", metric="fid", results_dir=results)
    (only,) = board
    assert only.dataset == FAST_EXPERIMENT
    rows = board.rows()
    assert [row["model"] for row in rows] == ["dcgan"] and rows[0]["best"] == result.best["fid"]
    assert "| 1 | dcgan | bce |" in board.to_markdown()


def test_a_run_config_is_taken_and_keywords_override_it(tmp_path: Path, registry, fast_flags) -> None:
    config = RunConfig(**{**fast_flags, "steps": 6, "eval_every": 6})
    result = ganbench.train(config, steps=3, eval_every=3, quiet=True, registry=registry)
    assert (result.status, result.steps) == ("FINISHED", 3)
    assert set(result.final) == {"pixel-fid"}


def test_an_unknown_setting_names_the_arguments_and_the_closest_name(registry) -> None:
    with pytest.raises(ConfigError, match=r"Unknown setting 'step' in the arguments\. Did you mean 'steps'\?"):
        ganbench.train(step=10, quiet=True, registry=registry)


def test_evaluate_refuses_a_setting_no_evaluation_takes(registry) -> None:
    with pytest.raises(ConfigError, match=r"evaluate\(\) got 'lr_g', which no evaluation takes"):
        ganbench.evaluate("some-run", lr_g=0.1, quiet=True, registry=registry)


def test_a_resumed_search_needs_its_study(registry) -> None:
    with pytest.raises(ConfigError, match="resume=True needs the study's name"):
        ganbench.search(resume=True, quiet=True, registry=registry)


def test_importing_the_plugin_api_does_not_load_the_engine() -> None:
    import subprocess
    import sys

    code = "import sys, ganbench; print('mlflow' in sys.modules, 'optuna' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["False", "False"]


def test_the_api_names_are_functions_after_the_engine_is_loaded() -> None:
    import ganbench.api
    import ganbench.training.loop
    import ganbench.tuning.study  # noqa: F401

    for name in ("train", "evaluate", "search", "compare", "leaderboard"):
        assert getattr(ganbench, name) is getattr(ganbench.api, name)
