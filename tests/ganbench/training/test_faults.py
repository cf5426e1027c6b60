"""Faults a long run meets (a full disk, an unwritable folder, SIGKILL, a bad image, a foreign
checkpoint): each ends in a clear error or a clean resume, and loses nothing already written."""

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from ganbench.errors import GanbenchError
from ganbench.filesystem import StorageError
from ganbench.training.checkpoint import load_checkpoint, save_checkpoint
from ganbench.training.runner import run
from tests.conftest import FAST_EXPERIMENT, ganbench_command, plugin_env


def _client(results_dir: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{results_dir.resolve() / 'mlflow.db'}")


def _losses(client: MlflowClient, run_id: str) -> dict[int, float]:
    """loss_d by step; a resumed run logs again the steps after its checkpoint, with the same values."""
    values: dict[int, set[float]] = {}
    for metric in client.get_metric_history(run_id, "loss_d"):
        values.setdefault(metric.step, set()).add(metric.value)
    assert all(len(v) == 1 for v in values.values()), f"a step was logged with two values: {values}"
    return {step: v.pop() for step, v in sorted(values.items())}


def test_an_unwritable_results_folder_fails_before_any_work(registry, console, fast_flags, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match=r"cannot be written \(Not a directory\).*--results-dir"):
        run(registry, {**fast_flags, "results_dir": str(blocker / "results")}, {}, None, console)


def test_a_full_disk_fails_the_run_clearly_and_keeps_the_last_checkpoint(registry, console, fast_flags, monkeypatch):
    import ganbench.filesystem as filesystem  # checkpoints are written through its atomic writer

    real_fsync, writes = os.fsync, []

    def fsync(fd: int) -> None:  # the disk fills up between the first checkpoint and the second
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".last.pt."):
            writes.append(fd)
            if len(writes) > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(filesystem.os, "fsync", fsync)
    with pytest.raises(StorageError, match=r"disk is full: .*last\.pt could not be written.*--resume"):
        run(registry, fast_flags, {}, None, console)
    client = _client(Path(fast_flags["results_dir"]))
    (failed,) = client.search_runs([client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id])
    assert failed.info.status == "FAILED" and "disk is full" in failed.data.tags["ganbench.error"]
    last = Path(failed.data.tags["ganbench.checkpoint"])
    assert load_checkpoint(last)["step"] == 6  # the checkpoint of the first evaluation, whole
    assert sorted(p.name for p in last.parent.iterdir()) == ["best.pt", "last.pt"], "no half-written file is left"


def test_a_run_killed_with_sigkill_resumes_with_the_uninterrupted_losses(registry, console, fast_flags, tmp_path):
    flags = {**fast_flags, "steps": 40, "eval_every": 10, "log_every": 2, "results_dir": str(tmp_path / "whole")}
    whole = run(registry, flags, {}, None, console)
    expected = _losses(_client(tmp_path / "whole"), whole.run_id)

    results = tmp_path / "killed"
    command = [*ganbench_command(), "run", "--results-dir", str(results), "--steps", "40", "--eval-every", "10"]
    command += ["--log-every", "2", "--batch-size", "16", "--metrics", "pixel-fid", "--eval-samples", "32"]
    command += ["--reference-samples", "32", "--grid-size", "16", "--dataset-option", "size=256"]
    command += ["--model-option", "width=8"]
    process = subprocess.Popen(command, env=plugin_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not list(results.glob("runs/*/checkpoints/last.pt")):  # killed at some point after the first checkpoint
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.time() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    (checkpoint,) = results.glob("runs/*/checkpoints/last.pt")
    run_id = checkpoint.parent.parent.name
    killed_at = load_checkpoint(checkpoint)["step"]

    resumed = run(registry, {"results_dir": str(results)}, {}, run_id, console)
    assert resumed.status == "FINISHED" and resumed.run_id == run_id and resumed.step == 40
    assert _losses(_client(results), run_id) == expected, f"killed at step {killed_at}"


def test_a_checkpoint_whose_weights_do_not_fit_names_both_versions(registry, console, fast_flags, tmp_path):
    first = run(registry, {**fast_flags, "steps": 6}, {}, None, console)
    state = load_checkpoint(first.checkpoint)
    state["config"]["model_options"]["width"] = 16  # as if the plugin's architecture had changed since
    state["ganbench_version"] = "0.0.1"
    foreign = tmp_path / "foreign.pt"
    save_checkpoint(foreign, {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(
        GanbenchError, match=r"(?s)does not fit dcgan.*size mismatch.*more.*written by ganbench 0\.0\.1"
    ):
        run(registry, {"results_dir": fast_flags["results_dir"]}, {}, str(foreign), console)
    assert load_checkpoint(first.checkpoint)["step"] == 6, "the run's own checkpoint is untouched"


def test_a_corrupt_image_in_a_folder_dataset_is_named_without_a_traceback(tmp_path):
    for index in range(8):
        folder = tmp_path / "data" / ("a" if index % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (index * 30, 0, 0)).save(folder / f"{index}.png")
    broken = tmp_path / "data" / "a" / "1.png"
    broken.write_bytes(broken.read_bytes()[:40])  # truncated mid-file, as an interrupted copy leaves it
    result = subprocess.run(
        [*ganbench_command(), "run", "--dataset", "imagefolder", "--data-dir", str(tmp_path / "data")]
        + ["--steps", "4", "--batch-size", "4", "--metrics", "pixel-fid", "--eval-samples", "8"]
        + ["--reference-samples", "8", "--results-dir", str(tmp_path / "results"), "--model-option", "width=8"],
        env=plugin_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert str(broken) in result.stderr and "Traceback" not in result.stderr
