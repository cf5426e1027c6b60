"""The ``ganbench`` command as a user runs it: exit codes, one-paragraph errors, Ctrl-C, plugins."""

import csv
import hashlib
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import FAST_EXPERIMENT, REPO, ganbench_command, plugin_env

FAST = [
    "--steps",
    "6",
    "--eval-every",
    "3",
    "--log-every",
    "3",
    "--batch-size",
    "16",
    "--metrics",
    "pixel-fid",
    "--eval-samples",
    "32",
    "--reference-samples",
    "32",
    "--grid-size",
    "16",
    "--dataset-option",
    "size=256",
    "--model-option",
    "width=8",
]


def ganbench(args: list[str], tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ganbench_command(), *args],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plugins_lists_every_kind_and_its_source(tmp_path):
    result = ganbench(["plugins"], tmp_path)
    assert result.returncode == 0, result.stderr
    for name in (
        "dcgan",
        "cdcgan",
        "shapes",
        "mnist",
        "imagefolder",
        "bce",
        "fid",
        "kid",
        "is",
        "inception-v3-compat",
        "pixel-fid",
        *("wgan", "wgan-gp", "acgan", "sngan", "sagan", "cgan-pd"),
        *("wasserstein", "hinge", "lsgan", "gp", "r1", "clip", "diffaugment", "instance-noise", "lecam", "cr", "ada"),
    ):
        assert f" {name} " in result.stdout
    titles = [line.strip() for line in result.stdout.splitlines() if line[:1].isalpha()]
    assert titles == ["models", "datasets", "losses", "regularizers", "feature extractors", "metrics"]
    assert "ganbench_plugins.dcgan" in result.stdout and "ganbench-test-plugin 0.0" in result.stdout


def test_config_file_then_flags(tmp_path):
    (tmp_path / "run.toml").write_text('seed = 5\nlr-g = 0.001\nrun_name = "from-file"\n')
    result = ganbench(["run", "--config", "run.toml", "--lr-g", "0.0003", *FAST], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "lr_g = 0.0003 (command line)" in result.stdout and "seed = 5 (config file)" in result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    (recorded,) = client.search_runs([client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id])
    assert recorded.data.params["lr_g"] == "0.0003" and recorded.data.params["seed"] == "5"
    assert recorded.info.run_name == "from-file"
    assert "pixel-fid" in result.stdout and "MLflow UI" in result.stdout  # the closing summary


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """A finished run whose store and checkpoint bad input must leave intact."""
    home = tmp_path_factory.mktemp("earlier")
    result = ganbench(["run", *FAST], home)
    assert result.returncode == 0, result.stderr
    checkpoint = next((home / "results" / "runs").glob("*/checkpoints/last.pt"))
    return home, checkpoint, _digest(checkpoint)


def _corrupt_folder(root: Path) -> Path:
    from PIL import Image

    for name in ("a", "b"):
        (root / "cards" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40, 40), (i * 40, 0, 0)).save(root / "cards" / name / f"{i}.png")
    (root / "cards" / "b" / "9.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root / "cards"


def _flat_folder(root: Path) -> Path:
    """Class folders with no train/valid/test above them: every image is in the train split."""
    from PIL import Image

    for name in ("a", "b"):
        (root / "flat" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40, 40), (i * 40, 0, 0)).save(root / "flat" / name / f"{i}.png")
    return root / "flat"


BAD_INPUTS = {
    "unknown model": (["--model", "stylegan9"], "Unknown model 'stylegan9'"),
    "negative lr": (["--lr-g", "-1e-4"], "lr_g"),
    "batch size 0": (["--batch-size", "0"], "batch_size"),
    "unsupported resolution": (["--resolution", "48"], "resolution = 48"),
    "missing data dir": (["--dataset", "mnist", "--data-dir", "no/such/dir"], "no/such/dir"),
    "empty folder": (["--dataset", "imagefolder", "--data-dir", "empty"], "empty"),
    "corrupt image": (["--dataset", "imagefolder", "--data-dir", "CORRUPT", "--batch-size", "2"], "9.png"),
    "no test split": (
        ["--dataset", "imagefolder", "--data-dir", "FLAT", "--batch-size", "2", "--reference-split", "test"],
        "there is no 'test' split. Use the train split (--reference-split train)",
    ),
    "bad option": (["--model-option", "width"], "KEY=VALUE"),
    "missing resume": (["--resume", "does-not-exist"], "does-not-exist"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_clear_error_and_loses_nothing(case, earlier_run):
    home, checkpoint, checkpoint_digest = earlier_run
    store_digest = _digest(home / "results" / "mlflow.db")
    args, expected = BAD_INPUTS[case]
    (home / "empty").mkdir(exist_ok=True)
    folders = {"CORRUPT": _corrupt_folder, "FLAT": _flat_folder}
    args = [str(folders[a](home / case.replace(" ", "_"))) if a in folders else a for a in args]
    fast = [a for a in FAST if not a.startswith("size=") and a != "--dataset-option"]
    result = ganbench(["run", *fast, *args], home)
    assert result.returncode != 0
    assert "Error:" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _digest(checkpoint) == checkpoint_digest
    # refused before any work (a folder small enough to cache is decoded, and its bad file found, at load)
    assert _digest(home / "results" / "mlflow.db") == store_digest
    client = MlflowClient(f"sqlite:///{home / 'results' / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.status for r in runs] == ["FINISHED"]


def test_ctrl_c_saves_marks_killed_and_resume_finishes(tmp_path):
    args = ["run", *FAST, "--steps", "100000", "--eval-every", "100000", "--log-every", "2"]
    process = subprocess.Popen(
        [*ganbench_command(), *args],
        env=plugin_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = tmp_path / "results" / "runs"
    deadline = time.time() + 120
    while not (runs.exists() and any(runs.iterdir())) and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # some training steps
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    run_id = next(runs.iterdir()).name
    assert f"ganbench run --resume {run_id}" in stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    assert client.get_run(run_id).info.status == "KILLED"
    from ganbench.training.checkpoint import load_checkpoint

    step = load_checkpoint(runs / run_id / "checkpoints" / "last.pt")["step"]
    assert step > 0
    resumed = ganbench(["run", "--resume", run_id, "--steps", str(step + 2)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed run {run_id} at step {step}" in resumed.stdout
    assert client.get_run(run_id).info.status == "FINISHED"


def test_third_party_example_plugin_installs_and_trains(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [
            *ganbench_command()[:1],
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--target",
            str(site / "third"),
            str(REPO / "examples" / "ganbench-tiny"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = plugin_env(tmp_path)
    env["PYTHONPATH"] = f"{site / 'third'}:{env['PYTHONPATH']}"
    listed = subprocess.run([*ganbench_command(), "plugins"], env=env, capture_output=True, text=True, timeout=120)
    assert "tiny-mlp" in listed.stdout and "ganbench-tiny 0.1.0" in listed.stdout
    fast = [a for a in FAST if a not in ("--model-option", "width=8")]
    trained = subprocess.run(
        [*ganbench_command(), "run", "--model", "tiny-mlp", "--resolution", "16", "--model-option", "hidden=32", *fast],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert "tiny-mlp on shapes at 16px" in trained.stdout and "finished" in trained.stdout


def test_compare_searches_each_model_with_one_budget_confirms_its_best_with_new_seeds_then_ranks_them(tmp_path):
    compare = ["compare", "--models", "dcgan,cdcgan", "--metric", "pixel-fid", "--sampler", "random", *FAST]
    result = ganbench([*compare, "--trials", "2", "--confirm-seeds", "2"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "study dcgan-shapes-pixel-fid" in result.stdout and "study cdcgan-shapes-pixel-fid" in result.stdout
    assert result.stdout.count("Confirming trial") == 2 and "confirm seed 2: pixel-fid" in result.stdout
    board = result.stdout[result.stdout.index("pixel-fid, lower is better") :]
    assert "dcgan" in board and "cdcgan" in board and "Budget:" in board
    comparisons = tmp_path / "results" / "comparisons"
    name = FAST_EXPERIMENT.replace("[", "_").replace("=", "_").replace("]", "_") + "-pixel-fid"
    assert sorted(p.name for p in comparisons.iterdir()) == [f"{name}-budget.png", f"{name}.csv", f"{name}.md"]
    markdown = (comparisons / f"{name}.md").read_text()
    assert f"![budget curves of {FAST_EXPERIMENT}]({name}-budget.png)" in markdown
    # the seeds of each row are the two new ones, not the search's picked best trial
    with (comparisons / f"{name}.csv").open() as handle:
        assert [(row["seeds"], row["runs"]) for row in csv.DictReader(handle)] == [("2", "4"), ("2", "4")]

    again = ganbench([*compare, "--trials", "2", "--confirm-seeds", "2"], tmp_path)  # the budget is spent
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already run") == 4 and "already holds 2 finished trials" in again.stdout
    import optuna

    storage = f"sqlite:///{tmp_path / 'results' / 'optuna.db'}"
    for model in ("dcgan", "cdcgan"):
        trial = optuna.load_study(study_name=f"{model}-shapes-pixel-fid", storage=storage).get_trials()[0]
        assert trial.params["lr_g"] == 2e-4  # trial 0 is each paper's setting: the same budget, the same start
