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
