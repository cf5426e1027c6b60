import hashlib
import os
from pathlib import Path

import pytest
import torch

from ganbench.data.files import (
    cached,
    candidate_folders,
    find_folder,
    fingerprint,
    folder_files,
    source_stamp,
    verify_checksums,
)
from ganbench.errors import DatasetError

HOW = "Get it from https://example.org/toy.tar.gz."


def _toy(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(name.encode())
    return folder


def test_the_folder_may_be_in_the_data_dir_under_the_dataset_name_or_be_the_data_dir(tmp_path: Path) -> None:
    assert candidate_folders(tmp_path, "toy", "toy-py") == [tmp_path / "toy-py", tmp_path / "toy" / "toy-py"]
    assert candidate_folders(tmp_path / "toy-py", "toy", "toy-py")[0] == tmp_path / "toy-py"
    assert candidate_folders(None, "toy", "toy-py") == []
    nested = _toy(tmp_path / "toy" / "toy-py", "a", "b")
    assert find_folder("toy", tmp_path, "toy-py", ["a", "b"], HOW) == nested
    assert find_folder("toy", nested, "toy-py", ["a", "b"], HOW) == nested


def test_the_first_folder_with_every_file_wins(tmp_path: Path) -> None:
    _toy(tmp_path / "toy-py", "a")
    complete = _toy(tmp_path / "toy" / "toy-py", "a", "b")
    assert find_folder("toy", tmp_path, "toy-py", ["a", "b"], HOW) == complete


def test_a_partial_folder_is_named_with_what_it_lacks(tmp_path: Path) -> None:
    _toy(tmp_path / "toy-py", "a")
    with pytest.raises(DatasetError) as error:
        find_folder("toy", tmp_path, "toy-py", ["a", "b", "c"], HOW)
    message = str(error.value)
    assert "toy reads an existing copy of its official files: a, b, c, in a folder toy-py" in message
    assert f"searched: {tmp_path / 'toy-py'}, {tmp_path / 'toy' / 'toy-py'}" in message
    assert f"{tmp_path / 'toy-py'} lacks b, c." in message and message.endswith(HOW)


def test_no_folder_or_no_data_dir_say_so(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="none of those folders exists"):
        find_folder("toy", tmp_path, "toy-py", ["a"], HOW)
    with pytest.raises(DatasetError, match="under --data-dir, which is not set. Pass --data-dir"):
        find_folder("toy", None, "toy-py", ["a"], HOW)


def test_checksums_name_every_file_that_differs(tmp_path: Path) -> None:
    folder = _toy(tmp_path, "a", "b", "c")
    sums = {name: hashlib.md5(name.encode()).hexdigest() for name in "abc"}
    verify_checksums("toy", folder, sums, HOW)
    (folder / "b").write_bytes(b"changed")
    (folder / "c").write_bytes(b"changed")
    with pytest.raises(DatasetError, match=r"toy: b, c in .* differ from the official files \(MD5 checksum\)"):
        verify_checksums("toy", folder, sums, HOW)


def test_the_cache_converts_once_per_key_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    calls = []

    def convert() -> dict[str, torch.Tensor]:
        calls.append(1)
        return {"images": torch.arange(6, dtype=torch.uint8)}

    first = cached(tmp_path / "cache", "toy-train", {"resolution": 32}, convert)
    second = cached(tmp_path / "cache", "toy-train", {"resolution": 32}, convert)
    assert len(calls) == 1 and torch.equal(first["images"], second["images"])
    cached(tmp_path / "cache", "toy-train", {"resolution": 64}, convert)
    assert len(calls) == 2
    names = sorted(path.name for path in (tmp_path / "cache").iterdir())
    assert len(names) == 2 and all(name.startswith("toy-train-") and name.endswith(".pt") for name in names)


@pytest.mark.parametrize(
    "written",
    [
        {"images": torch.zeros(6, dtype=torch.uint8)},  # the format before caches held their key
        {"key": '{"resolution": 16}', "tensors": {"images": torch.zeros(6, dtype=torch.uint8)}},  # another key
        b"not a tensor file at all",  # damaged
    ],
    ids=["older format", "another key", "damaged"],
)
def test_a_cache_file_it_cannot_trust_is_converted_again_with_a_warning(tmp_path: Path, written, caplog) -> None:
    def convert() -> dict[str, torch.Tensor]:
        return {"images": torch.arange(6, dtype=torch.uint8)}

    cached(tmp_path / "cache", "toy", {"resolution": 32}, convert)
    (path,) = (tmp_path / "cache").iterdir()
    if isinstance(written, bytes):
        path.write_bytes(written)
    else:
        torch.save(written, path)
    with caplog.at_level("WARNING"):
        again = cached(tmp_path / "cache", "toy", {"resolution": 32}, convert)
    assert torch.equal(again["images"], torch.arange(6, dtype=torch.uint8))
    assert str(path) in caplog.text and "unusable" in caplog.text
    assert torch.equal(cached(tmp_path / "cache", "toy", {"resolution": 32}, _never)["images"], again["images"])


def _never() -> dict[str, torch.Tensor]:
    raise AssertionError("converted again, though the cache holds a good copy")


def test_a_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken() -> dict[str, torch.Tensor]:
        raise DatasetError("unreadable")

    with pytest.raises(DatasetError):
        cached(tmp_path / "cache", "toy", {}, broken)
    assert list(tmp_path.glob("cache/*")) == []


def test_the_source_stamp_changes_with_the_file(tmp_path: Path) -> None:
    path = _toy(tmp_path, "a") / "a"
    before = source_stamp([path])
    path.write_bytes(b"longer content")
    assert source_stamp([path]) != before and before[0][0] == str(path.resolve())


def test_a_fingerprint_changes_with_a_files_size_or_name_and_a_timed_one_with_its_time(tmp_path: Path) -> None:
    root = _toy(tmp_path, "a.png", "b.PNG", "notes.txt")
    files = folder_files(root, (".png",))
    assert [path for path, _, _ in files] == ["a.png", "b.PNG"]
    (root / "a.png").write_bytes(b"A.PNG")  # same size, other bytes
    os.utime(root / "a.png", ns=(1, 1))
    touched = folder_files(root, (".png",))
    assert fingerprint(touched) == fingerprint(files)
    assert fingerprint(touched, with_times=True) != fingerprint(files, with_times=True)
    (root / "a.png").write_bytes(b"longer")
    assert fingerprint(folder_files(root, (".png",))) != fingerprint(files)
    (root / "a.png").write_bytes(b"a.png")
    (root / "a.png").rename(root / "c.png")
    assert fingerprint(folder_files(root, (".png",))) != fingerprint(files)
