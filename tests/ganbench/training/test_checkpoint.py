from pathlib import Path

import pytest
import torch

from ganbench.errors import GanbenchError
from ganbench.training.checkpoint import load_checkpoint, save_checkpoint


def test_round_trip(tmp_path: Path):
    path = tmp_path / "ckpt" / "last.pt"
    save_checkpoint(path, {"step": 3, "weights": torch.arange(4)})
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["weights"], torch.arange(4))


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path: Path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1})

    def torch_save_dies_midway(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", torch_save_dies_midway)
    with pytest.raises(OSError):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_unreadable_and_foreign_files_are_clear_errors(tmp_path: Path):
    with pytest.raises(GanbenchError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    truncated = tmp_path / "truncated.pt"
    save_checkpoint(truncated, {"step": 1, "weights": torch.zeros(1000)})
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(GanbenchError, match="cannot be read"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(GanbenchError, match="not a ganbench checkpoint"):
        load_checkpoint(foreign)


# Written by ganbench before its packages (commit b8ce348: a 4-step run of the test plugin's mlp on shapes), whose
# history pickles classes of the modules ganbench.training, ganbench.monitor and ganbench.evaluation.
FLAT_LAYOUT = Path(__file__).parent / "data" / "checkpoint-flat-layout.pt"


def test_a_checkpoint_of_the_flat_layout_still_loads_with_its_history() -> None:
    from ganbench.evaluation.evaluator import MetricResult
    from ganbench.training.loop import History
    from ganbench.training.monitor import BestSoFar

    state = load_checkpoint(FLAT_LAYOUT)
    history = state["history"]
    assert isinstance(history, History) and isinstance(history.best, BestSoFar)
    assert [e.step for e in history.evaluations] == [2, 4] and state["step"] == 4
    assert all(isinstance(r, MetricResult) for e in history.evaluations for r in e.results)


def test_a_checkpoint_of_the_flat_layout_is_scored_again(registry, tmp_path: Path) -> None:
    import ganbench

    scores = ganbench.evaluate(
        FLAT_LAYOUT, metrics=["pixel-fid"], eval_samples=32, results_dir=str(tmp_path), quiet=True, registry=registry
    )
    assert set(scores.values) == {"pixel-fid"}
