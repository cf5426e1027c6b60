"""The training engine end to end, in-process, with the cheap test metric."""

import dataclasses
import json
import platform
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from ganbench.errors import ConfigError, TrainingDiverged
from ganbench.evaluation.evaluator import Evaluator
from ganbench.training.checkpoint import load_checkpoint
from ganbench.training.runner import run
from tests.conftest import FAST_EXPERIMENT


def _client(flags: dict) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{Path(flags['results_dir']).resolve() / 'mlflow.db'}")


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def test_a_run_records_params_metrics_tags_and_artifacts(registry, console, fast_flags):
    flags = {**fast_flags, "metrics": ["pixel-fid", "pixel-logits"]}
    outcome = run(registry, flags, {}, None, console)
    assert outcome.status == "FINISHED" and outcome.step == 12
    client = _client(flags)
    mlflow_run = client.get_run(outcome.run_id)
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.params["lr_g"] == "0.0002" and mlflow_run.data.params["model_options.width"] == "8"
    assert {"model": "dcgan", "dataset": "shapes", "loss": "bce"}.items() <= mlflow_run.data.tags.items()
    # what else the numbers depend on: the same seed gives other numbers under another torch or thread count
    assert mlflow_run.data.tags["torch"] == torch.__version__
    assert mlflow_run.data.tags["cpu_threads"] == str(torch.get_num_threads())
    assert mlflow_run.data.tags["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert mlflow_run.data.tags["platform"] == platform.platform()
    assert "32 generated vs 32 shapes[size=256]/train v2, 32px" in mlflow_run.data.tags["protocol.pixel-fid"]
    assert [step for step, _ in _history(client, outcome.run_id, "loss_d")] == [3, 6, 9, 12]
    assert [step for step, _ in _history(client, outcome.run_id, "pixel_fid")] == [6, 12]
    assert "pixel-logits" not in mlflow_run.data.metrics  # never a number for what could not be computed
    artifacts = {a.path for a in client.list_artifacts(outcome.run_id)}
    artifacts |= {
        a.path for folder in ("samples", "curves", "checkpoints") for a in client.list_artifacts(outcome.run_id, folder)
    }
    assert {
        "config.yaml",
        "evaluations.json",
        "samples/step_0000006.png",
        "samples/step_0000012.png",
        "curves/losses.png",
        "curves/metrics.png",
        "checkpoints/last.pt",
    } <= artifacts
    records = json.loads((outcome.run_dir / "evaluations.json").read_text())
    last = {r["metric"]: r for r in records[-1]["results"]}
    assert last["pixel-fid"]["protocol"]["n_generated"] == 32
    assert last["pixel-fid"]["flags"] == [mlflow_run.data.tags["flags.pixel-fid"]]  # 32 samples of 48 features
    assert last["pixel-fid"]["flags"][0].startswith("rank-deficient covariance: 32 generated and 32 reference")
    assert last["pixel-logits"]["values"] is None and "no classifier" in last["pixel-logits"]["unavailable"]


def test_same_seed_same_losses_and_metrics(registry, console, fast_flags, tmp_path):
    outcomes = [
        run(registry, {**fast_flags, "results_dir": str(tmp_path / name), "seed": seed}, {}, None, console)
        for name, seed in (("a", 0), ("b", 0), ("c", 1))
    ]
    clients = [_client({"results_dir": str(tmp_path / name)}) for name in "abc"]
    series = [
        (_history(c, o.run_id, "loss_d"), _history(c, o.run_id, "pixel_fid"))
        for c, o in zip(clients, outcomes, strict=True)
    ]
    assert series[0] == series[1]
    assert series[0] != series[2]


def test_evaluating_more_often_does_not_change_what_trains(registry, console, fast_flags, tmp_path, monkeypatch):
    # wgan-gp draws its penalty's interpolation weights from the global generator, as every per_sample draw does;
    # an evaluation that draws from it too (as an extractor does when it builds its network before loading the
    # weights) must leave training's stream where it was
    evaluate = Evaluator.evaluate

    def drawing(self, *args, **kwargs):
        torch.rand(1)
        return evaluate(self, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", drawing)
    losses = []
    for name, eval_every in (("often", 3), ("once", 12)):
        flags = {**fast_flags, "model": "wgan-gp", "eval_every": eval_every, "results_dir": str(tmp_path / name)}
        outcome = run(registry, flags, {}, None, console)
        losses.append(_history(_client(flags), outcome.run_id, "loss_d"))
    assert losses[0] == losses[1]


def test_resume_continues_the_same_run_with_the_same_numbers(registry, console, fast_flags, tmp_path):
    whole = run(registry, {**fast_flags, "results_dir": str(tmp_path / "whole")}, {}, None, console)
    first = run(registry, {**fast_flags, "steps": 6}, {}, None, console)
    resumed = run(registry, {"steps": 12, "results_dir": fast_flags["results_dir"]}, {}, first.run_id, console)
    assert resumed.run_id == first.run_id and resumed.step == 12
    client = _client(fast_flags)
    assert client.get_run(first.run_id).info.status == "FINISHED"
    resumed_losses = _history(client, first.run_id, "loss_d")
    assert [step for step, _ in resumed_losses] == [3, 6, 9, 12]
    assert resumed_losses == _history(_client({"results_dir": str(tmp_path / "whole")}), whole.run_id, "loss_d")


def test_resume_refuses_to_change_what_the_weights_depend_on(registry, console, fast_flags):
    first = run(registry, {**fast_flags, "steps": 3, "eval_every": 3}, {}, None, console)
    with pytest.raises(ConfigError, match="cannot change resolution"):
        run(registry, {"resolution": 64, "results_dir": fast_flags["results_dir"]}, {}, str(first.checkpoint), console)
    with pytest.raises(ConfigError, match="cannot change ema_decay"):  # the checkpoint holds no average to resume
        run(registry, {"ema_decay": 0.9, "results_dir": fast_flags["results_dir"]}, {}, first.run_id, console)


def test_a_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(registry, console, fast_flags):
    flags = {**fast_flags, "loss": "explode", "loss_options": {"after": 8}}
    with pytest.raises(TrainingDiverged, match="non-finite.*between steps 6 and 9.*last good checkpoint"):
        run(registry, flags, {}, None, console)
    client = _client(flags)
    (failed,) = client.search_runs([client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id])
    assert failed.info.status == "FAILED" and "non-finite" in failed.data.tags["ganbench.error"]
    state = load_checkpoint(Path(failed.data.tags["ganbench.checkpoint"]))
    assert state["step"] == 6
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())


def _press_ctrl_c_at(step: int, monkeypatch) -> None:
    """Make the trainer see a Ctrl-C request during training step ``step`` (0-based)."""
    from ganbench.training.loop import Trainer

    original = Trainer._train_step

    def train_step(self, batches):
        if self.step == step:
            self._stop = True
        return original(self, batches)

    monkeypatch.setattr(Trainer, "_train_step", train_step)


def test_stop_request_saves_and_marks_the_run_killed(registry, console, fast_flags, monkeypatch):
    _press_ctrl_c_at(4, monkeypatch)
    outcome = run(registry, fast_flags, {}, None, console)
    assert outcome.status == "KILLED" and outcome.step == 5
    assert load_checkpoint(outcome.checkpoint)["step"] == 5
    assert _client(fast_flags).get_run(outcome.run_id).info.status == "KILLED"


@pytest.mark.parametrize("grid_size", [22, 15])
def test_class_conditional_model_trains_and_shows_classes_in_columns(registry, console, fast_flags, grid_size):
    from PIL import Image

    outcome = run(
        registry,
        {**fast_flags, "model": "cdcgan", "steps": 3, "eval_every": 3, "grid_size": grid_size},
        {},
        None,
        console,
    )
    assert outcome.status == "FINISHED"
    grid = Image.open(outcome.run_dir / "samples" / "step_0000003.png")
    # shapes has 11 classes: 2 whole rows of 11 columns of 32 px tiles with 1 px padding (15 rounds up to 22)
    assert grid.size == (11 * 33 + 1, 2 * 33 + 1)
    assert grid.getpixel((10 * 33 + 16, 33 + 16)) != (0, 0, 0)  # the last cell holds an image, not padding


def test_mnist_from_the_official_files(registry, console, fast_flags):
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the official MNIST files are not at {SHARED_DATA / 'mnist'}")
    flags = {
        **fast_flags,
        "dataset": "mnist",
        "data_dir": str(SHARED_DATA),
        "steps": 3,
        "eval_every": 3,
        "dataset_options": {},
    }
    outcome = run(registry, flags, {}, None, console)
    assert outcome.status == "FINISHED"
    assert "60000 training images" in console.file.getvalue()


def test_ctrl_c_after_a_nan_keeps_the_good_checkpoint(registry, console, fast_flags, monkeypatch):
    _press_ctrl_c_at(8, monkeypatch)
    flags = {**fast_flags, "loss": "explode", "loss_options": {"after": 8}, "log_every": 100}
    with pytest.raises(TrainingDiverged):
        run(registry, flags, {}, None, console)
    client = _client(flags)
    (failed,) = client.search_runs([client.get_experiment_by_name(FAST_EXPERIMENT).experiment_id])
    assert load_checkpoint(Path(failed.data.tags["ganbench.checkpoint"]))["step"] == 6


def test_ema_changes_what_is_evaluated_not_how_it_trains(registry, console, fast_flags, tmp_path):
    plain = run(registry, {**fast_flags, "results_dir": str(tmp_path / "plain")}, {}, None, console)
    averaged = run(registry, {**fast_flags, "results_dir": str(tmp_path / "ema"), "ema_decay": 0.9}, {}, None, console)
    plain_client, ema_client = (
        _client({"results_dir": str(tmp_path / "plain")}),
        _client({"results_dir": str(tmp_path / "ema")}),
    )
    assert _history(plain_client, plain.run_id, "loss_d") == _history(ema_client, averaged.run_id, "loss_d")
    assert _history(plain_client, plain.run_id, "pixel_fid") != _history(ema_client, averaged.run_id, "pixel_fid")
    state = load_checkpoint(averaged.checkpoint)
    live = state["model"]["generator.net.0.weight"]
    assert not torch.equal(state["ema"]["module.net.0.weight"], live)


def test_resume_with_ema_reproduces_the_metrics(registry, console, fast_flags, tmp_path):
    flags = {**fast_flags, "ema_decay": 0.9}
    whole = run(registry, {**flags, "results_dir": str(tmp_path / "whole")}, {}, None, console)
    first = run(registry, {**flags, "steps": 6}, {}, None, console)
    run(registry, {"steps": 12, "results_dir": flags["results_dir"]}, {}, first.run_id, console)
    whole_client = _client({"results_dir": str(tmp_path / "whole")})
    assert _history(_client(flags), first.run_id, "pixel_fid") == _history(whole_client, whole.run_id, "pixel_fid")


def test_ema_start_evaluates_g_itself_until_the_average_starts(registry, console, fast_flags, tmp_path):
    plain = run(registry, {**fast_flags, "results_dir": str(tmp_path / "plain")}, {}, None, console)
    late = {**fast_flags, "results_dir": str(tmp_path / "late"), "ema_decay": 0.9, "ema_start": 6}
    averaged = run(registry, late, {}, None, console)
    (plain_6, plain_12), (late_6, late_12) = (
        _history(_client({"results_dir": str(tmp_path / name)}), outcome.run_id, "pixel_fid")
        for name, outcome in (("plain", plain), ("late", averaged))
    )
    assert late_6 == plain_6  # at step 6 nothing has been averaged yet: G itself is scored
    assert late_12 != plain_12
    state = load_checkpoint(averaged.checkpoint)
    assert state["ema"]["n_averaged"].item() == 6  # steps 7 to 12


def test_resume_before_ema_starts_reproduces_the_metrics(registry, console, fast_flags, tmp_path):
    flags = {**fast_flags, "ema_decay": 0.9, "ema_start": 9}
    whole = run(registry, {**flags, "results_dir": str(tmp_path / "whole")}, {}, None, console)
    first = run(registry, {**flags, "steps": 6}, {}, None, console)
    assert load_checkpoint(first.checkpoint)["ema"]["n_averaged"].item() == 0
    run(registry, {"steps": 12, "results_dir": flags["results_dir"]}, {}, first.run_id, console)
    whole_client = _client({"results_dir": str(tmp_path / "whole")})
    assert _history(_client(flags), first.run_id, "pixel_fid") == _history(whole_client, whole.run_id, "pixel_fid")


def test_ema_start_without_ema_decay_is_refused(registry, console, fast_flags):
    with pytest.raises(ConfigError, match="ema_start = 100 is invalid without an average: pass --ema-decay"):
        run(registry, {**fast_flags, "ema_start": 100}, {}, None, console)


def test_regularizers_act_at_every_discriminator_step(registry, console, fast_flags, tmp_path, monkeypatch):
    from tests.support.fast_plugin import RecordingRegularizer

    built: list[RecordingRegularizer] = []
    original = RecordingRegularizer.__init__

    def init(self, weight):
        original(self, weight)
        built.append(self)

    monkeypatch.setattr(RecordingRegularizer, "__init__", init)
    flags = {**fast_flags, "steps": 3, "eval_every": 3, "log_every": 3, "n_disc": 2, "reg": ["record"]}
    plain = run(registry, {**flags, "results_dir": str(tmp_path / "plain")}, {}, None, console)
    penalised = run(registry, {**flags, "reg_options": {"record.weight": 1.0}}, {}, None, console)
    (recorder,) = built[1:]
    assert recorder.calls == [
        (call, step) for step in range(3) for _ in range(2) for call in ("penalty", "after_discriminator_step")
    ]
    # the penalty is added to D's loss (a constant one changes no gradient, so training is otherwise the same)
    (plain_d,) = _history(_client({"results_dir": str(tmp_path / "plain")}), plain.run_id, "loss_d")
    (penalised_d,) = _history(_client(flags), penalised.run_id, "loss_d")
    assert penalised_d[1] == pytest.approx(plain_d[1] + 1.0)


@pytest.mark.parametrize(
    ("schedule", "end_factor", "optimizer", "expected_end"),
    [("linear", None, "adam", 0.0), ("cosine", 0.5, "rmsprop", 0.5), ("exponential", 0.1, "adam", 0.1)],
)
def test_learning_rate_schedules_reach_their_end_factor(
    registry, console, fast_flags, schedule, end_factor, optimizer, expected_end
):
    flags = {**fast_flags, "lr_schedule": schedule, "lr_end_factor": end_factor, "optimizer": optimizer}
    state = load_checkpoint(run(registry, flags, {}, None, console).checkpoint)
    lr_g = state["opt_g"]["param_groups"][0]["lr"]
    assert lr_g == pytest.approx(2e-4 * expected_end, abs=1e-12)
    assert ("betas" in state["opt_g"]["param_groups"][0]) == (optimizer == "adam")  # RMSprop has no betas


def test_resume_mid_schedule_reproduces_the_run(registry, console, fast_flags, tmp_path, monkeypatch):
    flags = {**fast_flags, "lr_schedule": "cosine"}
    whole = run(registry, {**flags, "results_dir": str(tmp_path / "whole")}, {}, None, console)
    _press_ctrl_c_at(4, monkeypatch)
    first = run(registry, flags, {}, None, console)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="cannot change .*steps"):  # the schedule was laid out over 12 steps
        run(registry, {"steps": 20, "results_dir": flags["results_dir"]}, {}, first.run_id, console)
    run(registry, {"results_dir": flags["results_dir"]}, {}, first.run_id, console)
    whole_client = _client({"results_dir": str(tmp_path / "whole")})
    # Ctrl-C logged a short interval at step 5; the intervals after step 6 are whole in both runs
    resumed = [(step, value) for step, value in _history(_client(flags), first.run_id, "loss_d") if step > 6]
    assert resumed == [(step, value) for step, value in _history(whole_client, whole.run_id, "loss_d") if step > 6]
    assert [step for step, _ in resumed] == [9, 12]


def _script_metric(monkeypatch: pytest.MonkeyPatch, values: list[float]) -> None:
    """Each evaluation's pixel-fid becomes the next of ``values``: a run whose progress the test decides."""
    evaluate, scripted = Evaluator.evaluate, iter(values)

    def scripted_evaluate(self, *args, **kwargs):
        results = evaluate(self, *args, **kwargs)
        return [
            dataclasses.replace(r, values={"pixel_fid": next(scripted)}) if r.metric == "pixel-fid" else r
            for r in results
        ]

    monkeypatch.setattr(Evaluator, "evaluate", scripted_evaluate)


def test_patience_stops_a_stalled_run_and_the_best_checkpoint_is_the_best_evaluation(
    registry, console, fast_flags, monkeypatch
):
    _script_metric(monkeypatch, [5.0, 3.0, 4.0, 3.5])
    flags = {**fast_flags, "steps": 30, "eval_every": 3, "patience": 2}
    outcome = run(registry, flags, {}, None, console)
    assert outcome.status == "FINISHED" and outcome.step == 12
    assert "pixel-fid has not improved for 2 evaluations" in outcome.message
    assert outcome.best is not None and (outcome.best.step, outcome.best.value) == (6, 3.0)
    assert load_checkpoint(outcome.best_checkpoint)["step"] == 6
    assert load_checkpoint(outcome.checkpoint)["step"] == 12
    mlflow_run = _client(flags).get_run(outcome.run_id)
    assert mlflow_run.info.status == "FINISHED" and mlflow_run.data.tags["best.step"] == "6"
    assert "checkpoints/best.pt" in {a.path for a in _client(flags).list_artifacts(outcome.run_id, "checkpoints")}


def test_without_patience_the_run_trains_to_the_end_and_keeps_its_best(registry, console, fast_flags, monkeypatch):
    _script_metric(monkeypatch, [5.0, 3.0, 4.0, 4.0])
    outcome = run(registry, {**fast_flags, "eval_every": 3}, {}, None, console)
    assert outcome.step == 12 and outcome.best is not None and outcome.best.step == 6
    assert load_checkpoint(outcome.best_checkpoint)["step"] == 6


def test_a_higher_is_better_metric_keeps_its_highest_evaluation(registry, console, fast_flags, monkeypatch):
    results = Evaluator.evaluate

    def higher_is_better(self, *args, **kwargs):
        return [dataclasses.replace(r, higher_is_better=True) for r in results(self, *args, **kwargs)]

    monkeypatch.setattr(Evaluator, "evaluate", higher_is_better)
    _script_metric(monkeypatch, [0.2, 0.9, 0.5, 0.4])
    outcome = run(registry, {**fast_flags, "eval_every": 3, "patience": 2}, {}, None, console)
    assert outcome.step == 12 and outcome.best is not None and (outcome.best.step, outcome.best.value) == (6, 0.9)


def test_a_resumed_run_keeps_counting_evaluations_without_improvement(registry, console, fast_flags, monkeypatch):
    _script_metric(monkeypatch, [5.0, 3.0, 4.0, 4.0, 4.0])
    first = run(registry, {**fast_flags, "steps": 9, "eval_every": 3, "patience": 3}, {}, None, console)
    assert first.step == 9 and first.best is not None and first.best.stale == 1
    resumed = run(registry, {"steps": 30, "results_dir": fast_flags["results_dir"]}, {}, first.run_id, console)
    assert resumed.step == 15 and "has not improved for 3 evaluations" in resumed.message
    assert load_checkpoint(resumed.best_checkpoint)["step"] == 6


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ({"monitor": "kid"}, "monitor = kid is invalid: it is not one of the evaluated metrics"),
        ({"metrics": [], "patience": 5}, "patience = 5 needs a metric to watch"),
    ],
)
def test_early_stopping_settings_that_cannot_work_are_refused(registry, console, fast_flags, flags, problem):
    with pytest.raises(ConfigError, match=problem):
        run(registry, {**fast_flags, **flags}, {}, None, console)
