"""``ganbench eval``: checkpoints scored as their run scored them, folders of images, --augment end to end."""

import json
from dataclasses import replace
from io import StringIO
from pathlib import Path

import numpy
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from rich.console import Console

from ganbench import cli
from ganbench.data.images import to_uint8
from ganbench.errors import ConfigError, DatasetError, GanbenchError
from ganbench.evaluation.evaluator import Evaluator
from ganbench.scoring.downstream import Budget, t_interval, train_classifier
from ganbench.scoring.score import print_scored, score
from ganbench.scoring.sources import open_source
from ganbench.training.runner import run
from tests.conftest import SHARED_DATA
from tests.support.models import one_thread

TINY_AUGMENT = Budget(steps=2, batch_size=8, seeds=2, real_fraction=0.25, synthetic_ratio=1.0, test_samples=32)


def _flags(results: Path, **changes) -> dict:
    """A run of seconds: tiny networks, 64 shapes per split, the cheap pixel metric and the proxy classifier."""
    return {
        "steps": 6,
        "eval_every": 6,
        "log_every": 3,
        "batch_size": 16,
        "metrics": ["pixel-fid", "proxy-acc"],
        "eval_samples": 40,
        "reference_samples": 48,
        "grid_size": 16,
        "results_dir": str(results),
        "dataset_options": {"size": 64},
        "model_options": {"width": 8},
        **changes,
    }


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def runs(registry, tmp_path_factory):
    """A class-conditional run with an EMA generator and an unconditional one; their outcomes."""
    home = tmp_path_factory.mktemp("eval")
    console = Console(file=StringIO())
    conditional = run(registry, _flags(home / "results", model="cdcgan", ema_decay=0.9), {}, None, console)
    unconditional = run(registry, _flags(home / "results", metrics=["pixel-fid"]), {}, None, console)
    return home, conditional, unconditional


def _values(results) -> dict:
    return {result.metric: result.values for result in results}


def test_a_checkpoint_scores_as_its_run_evaluated_it(registry, console, runs):
    home, conditional, _ = runs
    logged = _values(conditional.evaluations[-1].results)
    assert logged["proxy-acc"] is not None  # the labels the model was asked for reach the metric
    by_path = score(str(conditional.checkpoint), registry, {}, None, console)
    assert _values(by_path.results) == logged  # same weights, EMA generator, samples and protocol: same numbers
    by_run_id = score(conditional.run_id, registry, {"results_dir": str(home / "results")}, None, console)
    assert _values(by_run_id.results) == logged
    record = json.loads(by_path.record.read_text())
    assert by_path.record.parent == home / "results" / "eval"
    assert record["source"]["step"] == 6 and record["source"]["images"] == 40
    assert {r["metric"]: r["values"] for r in record["results"]} == logged
    wide = Console(file=StringIO(), width=300)  # one line per row, so the protocol reads as one string
    print_scored(by_path, wide)
    shown = wide.file.getvalue()
    assert "pixel-fid" in shown and "40 generated vs 48 shapes[size=64]/train v2, 32px" in shown


def test_a_run_id_scores_its_best_checkpoint_on_request(registry, console, tmp_path, monkeypatch):
    evaluate, scripted = Evaluator.evaluate, iter([3.0, 5.0])  # the run's pixel-fid: best at its first evaluation

    def scripted_evaluate(self, *args, **kwargs):
        return [replace(r, values={"pixel_fid": next(scripted)}) for r in evaluate(self, *args, **kwargs)]

    with monkeypatch.context() as patch:
        patch.setattr(Evaluator, "evaluate", scripted_evaluate)
        outcome = run(registry, _flags(tmp_path / "results", steps=12, metrics=["pixel-fid"]), {}, None, console)
    flags = {"results_dir": str(tmp_path / "results")}
    best = score(outcome.run_id, registry, flags, None, console, checkpoint="best")
    last = score(outcome.run_id, registry, flags, None, console)
    assert (best.source.step, last.source.step) == (6, 12)
    assert _values(best.results) == _values(score(str(outcome.best_checkpoint), registry, {}, None, console).results)
    assert _values(best.results) != _values(last.results)
    with pytest.raises(ConfigError, match="is a file: pass the run's id, or its checkpoints/best.pt"):
        score(str(outcome.checkpoint), registry, {}, None, console, checkpoint="best")


def _write_split(registry, folder: Path, split: str, by_class: bool) -> int:
    from ganbench.config import RunConfig
    from ganbench.training.assembly import load_dataset

    dataset = load_dataset(RunConfig(dataset_options={"size": 64}), registry, split)
    for index in range(len(dataset)):
        image, label = dataset[index]
        target = folder / dataset.class_names[label] if by_class else folder
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(to_uint8(image).permute(1, 2, 0).numpy()).save(target / f"{index}.png")
    return len(dataset)


def test_a_checkpoint_saved_before_ema_starts_scores_g_itself(registry, console, tmp_path):
    waiting = run(
        registry, _flags(tmp_path / "ema", metrics=["pixel-fid"], ema_decay=0.9, ema_start=6), {}, None, console
    )
    plain = run(registry, _flags(tmp_path / "plain", metrics=["pixel-fid"]), {}, None, console)
    scored = score(str(waiting.checkpoint), registry, {}, None, console)
    logged = _values(waiting.evaluations[-1].results)
    assert _values(scored.results) == logged == _values(plain.evaluations[-1].results)


def test_a_folder_of_the_reference_images_scores_zero(registry, console, tmp_path):
    count = _write_split(registry, tmp_path / "samples", "test", by_class=True)
    flags = {
        "dataset": "shapes",
        "dataset_options": {"size": 64},
        "reference_split": "test",
        "reference_samples": 0,
        "metrics": ["pixel-fid", "proxy-acc"],
        "results_dir": str(tmp_path / "results"),
    }
    scored = score(str(tmp_path / "samples"), registry, flags, None, console)
    values = _values(scored.results)
    assert scored.source.count == count == scored.results[0].protocol.n_reference
    assert abs(values["pixel-fid"]["pixel_fid"]) < 1e-6  # the same images, after a PNG round trip
    assert 0 <= values["proxy-acc"]["proxy_acc"] <= 1  # class subfolders gave the images their labels
    fewer = score(str(tmp_path / "samples"), registry, {**flags, "eval_samples": 20}, None, console)
    assert fewer.source.count == 20 and fewer.results[0].protocol.n_generated == 20


def test_a_labelled_folder_gives_images_of_the_classes_asked_for(registry, tmp_path):
    _write_split(registry, tmp_path / "samples", "test", by_class=True)
    source = open_source(str(tmp_path / "samples"), registry, {"dataset": "shapes", "dataset_options": {"size": 64}})
    circle = source.training_set.class_names.index("circle")
    files = sorted((tmp_path / "samples" / "circle").iterdir())
    drawn = source.synthesize(torch.full((len(files),), circle), 0)
    expected = [torch.from_numpy(numpy.array(Image.open(file))).permute(2, 0, 1) for file in files]
    assert sorted(image.numpy().tobytes() for image in drawn) == sorted(e.numpy().tobytes() for e in expected)
    with pytest.raises(DatasetError, match=f"holds {len(files)} images of class circle"):
        source.synthesize(torch.full((len(files) + 1,), circle), 0)


def test_a_folder_is_converted_to_the_datasets_channels_and_resolution(registry, tmp_path):
    for index, size in enumerate(((40, 48), (70, 30))):
        Image.new("L", size, 30 * index).save(tmp_path / f"{index}.jpg")
    flags = {"dataset": "shapes", "dataset_options": {"size": 64}, "metrics": ["pixel-fid"]}
    source = open_source(str(tmp_path), registry, flags)
    ((images, labels),) = list(source.batches())
    assert images.shape == (2, 3, 32, 32) and labels is None
    assert source.synthesize is None and "no classes" in source.unlabelled_reason


def test_bad_sources_are_refused_with_the_fix(registry, console, runs, tmp_path):
    home, conditional, unconditional = runs
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    shapes = {"dataset": "shapes", "dataset_options": {"size": 64}}
    with pytest.raises(ConfigError, match="pass --dataset"):
        score(str(tmp_path / "empty"), registry, {}, None, console)
    with pytest.raises(DatasetError, match="holds no images"):
        score(str(tmp_path / "empty"), registry, shapes, None, console)
    with pytest.raises(GanbenchError, match="does not exist"):
        score(str(tmp_path / "no" / "last.pt"), registry, {}, None, console)
    with pytest.raises(ConfigError, match="--dataset cannot apply"):
        score(str(unconditional.checkpoint), registry, {"dataset": "mnist"}, None, console)
    with pytest.raises(ConfigError, match="unconditional"):
        score(str(unconditional.checkpoint), registry, {}, TINY_AUGMENT, console)
    with pytest.raises(ConfigError, match="--real-fraction must be in"):
        score(str(conditional.checkpoint), registry, {}, replace(TINY_AUGMENT, real_fraction=0), console)
    for name in ("circle", "not-a-class"):
        (tmp_path / "mixed" / name).mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / "mixed" / name / "0.png")
    with pytest.raises(DatasetError, match="not-a-class"):
        score(str(tmp_path / "mixed"), registry, shapes, None, console)
    assert "downstream" not in console.file.getvalue()  # refused before any classifier trained


def test_augment_end_to_end_on_shapes(runs, monkeypatch):
    home, conditional, _ = runs
    shown = Console(file=StringIO(), width=200)
    monkeypatch.setattr(cli, "console", shown)
    options = {
        "--seeds": TINY_AUGMENT.seeds,
        "--classifier-steps": TINY_AUGMENT.steps,
        "--classifier-batch-size": TINY_AUGMENT.batch_size,
        "--real-fraction": TINY_AUGMENT.real_fraction,
        "--test-samples": TINY_AUGMENT.test_samples,
        "--metrics": "proxy-acc",  # the fast test metrics are not installed plugins: the CLI would not find them
    }
    arguments = ["eval", str(conditional.checkpoint), "--augment", *(str(a) for o in options.items() for a in o)]
    result = CliRunner().invoke(cli.cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0
    output = shown.file.getvalue()
    for row in ("trained on real ", "trained on real+generated", "difference", "95% CI", "CAS", "proxy-acc"):
        assert row in output
    record_path = Path(output.split("record")[-1].strip())
    assert record_path.parent == home / "results" / "eval" and record_path.name.startswith(conditional.run_id)
    _check_augment_record(json.loads(record_path.read_text())["augment"], seeds=[0, 1], n_real=16)


def _check_augment_record(augment: dict, seeds: list[int], n_real: int) -> None:
    assert augment["seeds"] == seeds and augment["n_real"] == n_real and augment["n_generated"] == n_real
    for accuracies in augment["accuracies"].values():
        assert len(accuracies) == len(seeds) and all(0 <= a <= 1 for a in accuracies)
    interval = augment["difference_interval"]
    assert interval["low"] <= interval["mean"] <= interval["high"]
    assert interval["mean"] == pytest.approx(sum(augment["difference"]) / len(seeds))
    assert augment["caveats"]  # the generator saw more real images than the real arm


def test_augment_end_to_end_on_mnist(registry, console, runs):
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the official MNIST files are not at {SHARED_DATA / 'mnist'}")
    home, _, _ = runs
    flags = _flags(
        home / "results",
        model="cdcgan",
        dataset="mnist",
        data_dir=str(SHARED_DATA),
        steps=2,
        eval_every=2,
        metrics=["pixel-fid"],
        dataset_options={},
    )
    trained = run(registry, flags, {}, None, console)
    budget = Budget(steps=2, batch_size=8, seeds=2, real_fraction=0.0005, test_samples=32)
    scored = score(str(trained.checkpoint), registry, {}, budget, console)
    _check_augment_record(json.loads(scored.record.read_text())["augment"], seeds=[0, 1], n_real=30)
    print_scored(scored, console)
    assert "difference (real+generated - real)" in console.file.getvalue()


def test_a_classifier_trains_the_same_from_the_same_seed_and_leaves_the_callers_random_state():
    images = torch.randint(0, 256, (12, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(12) % 3
    state = torch.get_rng_state()
    first, again = (
        train_classifier(images, labels, 3, 5, Budget(steps=2, batch_size=4, seeds=1), torch.device("cpu"))
        for _ in range(2)
    )
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True))
    assert torch.equal(torch.get_rng_state(), state)


def test_t_interval_matches_the_textbook():
    interval = t_interval([0.01, 0.03, 0.02])
    assert interval.mean == pytest.approx(0.02)
    assert interval.high - interval.mean == pytest.approx(4.302653 * 0.01 / 3**0.5, rel=1e-6)
    assert t_interval([0.5]) is None
