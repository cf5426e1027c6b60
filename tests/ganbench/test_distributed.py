"""Data-parallel training under torchrun (2 CPU processes, gloo), mixed-precision and compile settings."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from ganbench.cli import cli
from ganbench.data.batches import real_batches
from ganbench.distributed import World, per_sample
from ganbench.errors import ConfigError
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.runner import run
from tests.conftest import FAST_EXPERIMENT, plugin_env

# A GAN without batch norm (per-process on CPUs), with every random draw of training on the path:
# latents, the gradient penalty's interpolation, DiffAugment, several D steps, an EMA of G.
FLAGS = {
    "model": "mlp",
    "resolution": 16,
    "steps": 20,
    "log_every": 5,
    "eval_every": 10,
    "batch_size": 16,
    "loss": "wasserstein",
    "reg": ["gp", "diffaugment"],
    "n_disc": 2,
    "ema_decay": 0.9,
    "metrics": ["pixel-fid"],
    "eval_samples": 40,  # batches of 16, 16 and 8: the ranks make 2 and 1 of them
    "reference_samples": 32,
    "grid_size": 16,
    "dataset_options": {"size": 256},
}


def _cli_args(flags: dict) -> list[str]:
    args = []
    for key, value in flags.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, dict):
            args += [item for k, v in value.items() for item in ("--dataset-option", f"{k}={v}")]
        else:
            args += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return args


def _torchrun(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = plugin_env(tmp_path) | {"OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    return subprocess.run(
        [*command, "-m", "ganbench", "run", *args], env=env, capture_output=True, text=True, timeout=600
    )


def _client(results: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{results.resolve() / 'mlflow.db'}")


def _series(results: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    history = _client(results).get_metric_history(run_id, key)
    return [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)]


def _assert_same_series(ddp: list[tuple[int, float]], single: list[tuple[int, float]], rel: float) -> None:
    assert [step for step, _ in ddp] == [step for step, _ in single]
    assert [value for _, value in ddp] == pytest.approx([value for _, value in single], rel=rel, abs=1e-5)


def test_two_processes_train_like_one_process_on_the_combined_batch(registry, console, tmp_path):
    single = run(registry, {**FLAGS, "results_dir": str(tmp_path / "single")}, {}, None, console)
    results = tmp_path / "ddp"
    done = _torchrun([*_cli_args(FLAGS), "--results-dir", str(results)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("ganbench run") == 1 and done.stdout.count("finished") == 1  # rank 0 alone prints
    client = _client(results)
    (mlflow_run,) = client.search_runs([client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id])  # rank 0's only
    assert mlflow_run.info.status == "FINISHED" and mlflow_run.data.tags["processes"] == "2"
    run_id = mlflow_run.info.run_id
    assert [path.name for path in (results / "runs").iterdir()] == [run_id]
    for key in ("loss_d", "loss_g"):
        _assert_same_series(_series(results, run_id, key), _series(tmp_path / "single", single.run_id, key), 1e-4)
    _assert_same_series(
        _series(results, run_id, "pixel_fid"), _series(tmp_path / "single", single.run_id, "pixel_fid"), 1e-3
    )
    ddp_state = load_checkpoint(results / "runs" / run_id / "checkpoints" / "last.pt")
    assert ddp_state["step"] == 20 and ddp_state["model"].keys() == load_checkpoint(single.checkpoint)["model"].keys()


def test_torchrun_resumes_a_run_and_finishes_it_as_one_process_would(registry, console, tmp_path):
    whole = run(registry, {**FLAGS, "results_dir": str(tmp_path / "whole")}, {}, None, console)
    results = tmp_path / "results"
    first = run(registry, {**FLAGS, "steps": 10, "results_dir": str(results)}, {}, None, console)
    done = _torchrun(["--resume", first.run_id, "--steps", "20", "--results-dir", str(results)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed run" in done.stdout
    for key in ("loss_d", "loss_g"):
        _assert_same_series(_series(results, first.run_id, key), _series(tmp_path / "whole", whole.run_id, key), 1e-4)
    assert load_checkpoint(first.checkpoint)["step"] == 20


def test_each_rank_reads_its_slice_of_the_same_combined_batches():
    dataset = [(torch.full((1, 2, 2), float(i)), i) for i in range(40)]
    combined = real_batches(dataset, 8, seed=3, start_batch=2)
    ranks = [real_batches(dataset, 8, seed=3, start_batch=2, rank=r, ranks=2) for r in range(2)]
    for _ in range(6):  # past the end of the first epoch
        expected = next(combined)[1]
        assert torch.equal(torch.cat([next(batches)[1] for batches in ranks]), expected)


def _average_on_rank(rank: int, port: int, results: Path) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        layer = torch.nn.Linear(3, 1)
        torch.nn.init.ones_(layer.weight)
        inputs = torch.arange(12.0).view(4, 3)[2 * rank : 2 * rank + 2]  # this rank's half of the batch
        layer(inputs).mean().backward()
        World(rank, 2).average_gradients(layer)
        torch.save(layer.weight.grad, results / f"{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def test_gradients_are_averaged_to_the_combined_batch_gradient(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # forked, not spawned: the children need no fresh import of torch
    torch.multiprocessing.start_processes(_average_on_rank, (port, tmp_path), nprocs=2, start_method="fork")
    combined = torch.arange(12.0).view(4, 3).mean(dim=0, keepdim=True)  # d mean(xw + b) / dw over all 4 rows
    for rank in range(2):
        assert torch.equal(torch.load(tmp_path / f"{rank}.pt"), combined)


def test_a_single_process_draws_as_before():
    torch.manual_seed(0)
    expected = torch.randn(5, 3)
    torch.manual_seed(0)
    assert torch.equal(per_sample(lambda n: torch.randn(n, 3), 5), expected)


def test_a_combined_batch_that_does_not_split_evenly_is_refused():
    assert World(rank=1, size=4).share(64) == 16
    with pytest.raises(ConfigError, match=r"batch_size = 30 is invalid for 4 processes.*multiple of 4 \(e\.g\. 28\)"):
        World(rank=0, size=4).share(30)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_a_cpu_is_refused_not_ignored(registry, console, fast_flags, precision):
    with pytest.raises(ConfigError, match=f"precision = {precision} is a GPU option: mixed precision is off on cpu"):
        run(registry, {**fast_flags, "device": "cpu", "precision": precision}, {}, None, console)
    assert not (Path(fast_flags["results_dir"]) / "runs").exists()  # refused before any run was tracked


def test_an_unknown_precision_is_refused(registry, console, fast_flags):
    with pytest.raises(ConfigError, match="precision = fp8 is invalid: it must be one of fp32, bf16, fp16"):
        run(registry, {**fast_flags, "precision": "fp8"}, {}, None, console)


def test_only_run_trains_under_torchrun():
    result = CliRunner(env={"WORLD_SIZE": "2"}).invoke(cli, ["search", "--trials", "1"])
    assert isinstance(result.exception, ConfigError)
    assert "only `ganbench run` trains data-parallel" in str(result.exception)
