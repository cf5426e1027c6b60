"""paired-folder: labelled images with a sketch each, in the real on-disk layout, trained on in both pairing modes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from ganbench.config import resolve_config
from ganbench.data.images import load_image, to_signed_unit
from ganbench.errors import ConfigError, DatasetError
from ganbench.specs import DatasetRequest
from ganbench.training.assembly import load_dataset
from ganbench.training.runner import run
from ganbench_plugins.paired_folder import build_paired_folder
from tests.support.models import one_thread

CLASSES = ("melanoma", "nevus")


def _write(path: Path, array: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if array.shape[0] == 1 else "RGB"
    Image.fromarray(array.permute(1, 2, 0).squeeze(-1).numpy(), mode).save(path)


def make_folder(root: Path, per_class: dict[str, int]) -> Path:
    """<root>/<split>/images/<class>/lesion_<i>.png (RGB) with <root>/<split>/sketches/<class>/lesion_<i>.bmp (grey)."""
    generator = torch.Generator().manual_seed(0)
    for split, count in per_class.items():
        for label, name in enumerate(CLASSES):
            for i in range(count):
                image = torch.randint(0, 256, (3, 32, 32), generator=generator, dtype=torch.uint8)
                image[label + 1] = 255  # the class shows in the green or blue channel; the sketch is red
                _write(root / split / "images" / name / f"lesion_{i}.png", image)
                _write(root / split / "sketches" / name / f"lesion_{i}.bmp", image[:1])
    return root


def _request(root: Path, split: str = "train") -> DatasetRequest:
    return DatasetRequest(split, 32, root, root / "cache", {})


def test_pairs_each_image_with_the_sketch_at_its_relative_path(tmp_path):
    root = make_folder(tmp_path / "isic", {"train": 3, "test": 2})
    dataset = build_paired_folder(_request(root))
    assert (len(dataset), dataset.class_names, dataset.channels, dataset.condition_channels) == (6, list(CLASSES), 3, 1)
    assert dataset.paired and len(build_paired_folder(_request(root, "test"))) == 4
    for index, (path, label) in enumerate(dataset.samples):
        assert path.parent.name == CLASSES[label]
        sketch = dataset.sketches[index]
        assert (sketch.parent.name, sketch.stem, sketch.suffix) == (path.parent.name, path.stem, ".bmp")
        assert torch.equal(dataset.condition(index), to_signed_unit(load_image(sketch, 1)))
        assert torch.equal(dataset.condition(index), dataset[index][0][:1])  # each sketch was drawn from its image


def test_unmatched_and_missing_sketches_are_named(tmp_path):
    root = make_folder(tmp_path / "isic", {"train": 3})
    (root / "train" / "sketches" / "nevus" / "lesion_1.bmp").unlink()
    for i in range(7):
        _write(root / "train" / "sketches" / "melanoma" / f"stray_{i}.png", torch.zeros(1, 32, 32, dtype=torch.uint8))
    with pytest.raises(DatasetError) as error:
        build_paired_folder(_request(root))
    message = str(error.value)
    assert "1 image(s) in " in message and "have no sketch: nevus/lesion_1.png" in message
    assert "7 sketch(es) in " in message and "match no image: melanoma/stray_0.png" in message
    assert "melanoma/stray_4.png (and 2 more)" in message and "stray_5" not in message
    assert "Give every image a sketch at the same path under sketches/" in message

    (root / "train" / "sketches").rename(root / "train" / "drawings")
    with pytest.raises(DatasetError, match="has no sketches/ folder"):
        build_paired_folder(_request(root))
    with pytest.raises(DatasetError, match="no --data-dir was given"):
        build_paired_folder(DatasetRequest("train", 32, None, tmp_path, {}))


def test_a_dataset_with_its_own_sketches_refuses_derived_ones(registry, tmp_path):
    root = make_folder(tmp_path / "isic", {"train": 2, "test": 2})
    flags = {"model": "sketch2img", "dataset": "paired-folder", "data_dir": str(root), "sketch": "edges"}
    with pytest.raises(ConfigError, match="brings its own"):
        resolve_config(registry, {}, flags)


@pytest.mark.parametrize("pairing", ["paired", "unpaired"])
def test_sketch2img_trains_on_a_paired_folder_in_both_pairing_modes(registry, console, fast_flags, tmp_path, pairing):
    root = make_folder(tmp_path / "isic", {"train": 4, "test": 2})
    flags = {
        **fast_flags,
        "model": "sketch2img",
        "dataset": "paired-folder",
        "data_dir": str(root),
        "dataset_options": {},
        "pairing": pairing,
        "steps": 2,
        "eval_every": 2,
        "n_disc": 2,
        "batch_size": 4,
        "metrics": ["pixel-fid", "ssim"],
        "eval_samples": 4,
        "reference_samples": 4,
        "grid_size": 4,
    }
    with one_thread():
        outcome = run(registry, flags, {}, None, console)
        config = resolve_config(registry, {}, flags).config
        train = load_dataset(config, registry, "train")
    assert outcome.status == "FINISHED" and outcome.step == 2
    results = {r.metric: r for r in outcome.evaluations[-1].results}
    assert results["pixel-fid"].value is not None
    if pairing == "paired":
        assert results["ssim"].value is not None
        assert all(torch.equal(train.condition(i), train[i][0][:1]) for i in range(len(train)))
    else:
        assert results["ssim"].value is None and "--pairing paired" in results["ssim"].unavailable
        for i in range(len(train)):
            partner = next(j for j in range(len(train)) if torch.equal(train.condition(i), train[j][0][:1]))
            assert partner != i and train[partner][1] == train[i][1]  # another image's sketch, of the same class
