"""Building a pretrained extractor from its weights, or reporting it unavailable, and how a run reports that."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from ganbench.evaluation.evaluator import Evaluator
from ganbench.specs import ExtractorRequest
from ganbench_plugins.pretrained import OfficialWeights, Pretrained, Unavailable, build
from tests.support.fast_plugin import PixelFeatures

CPU = torch.device("cpu")
OFFICIAL = OfficialWeights("toy", "Toy-1", "https://weights.example/toy/toy-1.pth", "toy-1.pth")


class ToyNetwork(FeatureExtractorBase):
    """Mean colour times a weight: a torch-fidelity network in miniature."""

    INPUT_IMAGE_SIZE = 8

    def __init__(self, path: Path) -> None:
        super().__init__("toy", ["mean"])
        self.weight = torch.nn.Parameter(torch.load(path, weights_only=True))

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("mean",)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        return (images.float().mean(dim=(2, 3)) * self.weight,)


def toy_weights(path: Path, value: float = 2.0) -> Path:
    torch.save(torch.full((3,), value), path)
    return path


def request(tmp_path: Path, **options: str) -> ExtractorRequest:
    return ExtractorRequest(device=CPU, cache_dir=tmp_path, options=options)


def test_the_named_file_comes_before_torch_hubs_cache(no_network: Path, tmp_path: Path) -> None:
    (no_network / "checkpoints").mkdir(parents=True)
    toy_weights(no_network / "checkpoints" / "toy-1.pth", 1.0)
    named = toy_weights(tmp_path / "mine.pth", 2.0)

    extractor = build(OFFICIAL, ("mean",), request(tmp_path, weights=str(named)), ToyNetwork)
    cached = build(OFFICIAL, ("mean",), request(tmp_path), ToyNetwork)

    assert isinstance(extractor, Pretrained) and isinstance(cached, Pretrained)
    assert str(named) in extractor.source and "torch hub's cache" in cached.source
    images = torch.full((2, 3, 8, 8), 10, dtype=torch.uint8)
    torch.testing.assert_close(extractor(images)["mean"], torch.full((2, 3), 20.0))
    assert extractor.features == ("mean",) and extractor.input_size == 8 and not extractor.unavailable
    assert extractor.weights_hash != cached.weights_hash


def test_offline_without_a_file_it_is_unavailable_with_the_fix(no_network: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    extractor = build(OFFICIAL, ("mean",), request(tmp_path), ToyNetwork)
    assert time.monotonic() - started < 1
    assert isinstance(extractor, Unavailable) and extractor.features == ()
    reason = extractor.unavailable["mean"]
    assert "No Toy-1 weights" in reason and OFFICIAL.url in reason
    assert "--extractor-option toy.weights=/path/to/toy-1.pth" in reason
    assert str(no_network / "checkpoints" / "toy-1.pth") in reason


def test_a_named_file_that_is_missing_or_does_not_load_is_unavailable_naming_it(
    no_network: Path, tmp_path: Path
) -> None:
    missing = build(OFFICIAL, ("mean",), request(tmp_path, weights=str(tmp_path / "nowhere.pth")), ToyNetwork)
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    garbage = build(OFFICIAL, ("mean",), request(tmp_path, weights=str(tmp_path / "garbage.pth")), ToyNetwork)

    assert f"{tmp_path / 'nowhere.pth'} (--extractor-option toy.weights) does not exist" in missing.unavailable["mean"]
    assert f"Could not load {tmp_path / 'garbage.pth'} as Toy-1 weights" in garbage.unavailable["mean"]
    assert all("Fix: download" in e.unavailable["mean"] for e in (missing, garbage))


class _Reference:
    channels, num_classes, class_names = 3, 0, []

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(index)) * 2 - 1, -1


def test_a_run_computing_fid_reports_fd_dinov2_unavailable_and_extracts_nothing_for_it(
    registry, no_network: Path, tmp_path: Path
) -> None:
    dinov2 = registry.get("feature extractor", "dinov2-vit-l14")
    built = []

    def build_dinov2(request: ExtractorRequest):
        built.append(dinov2.build(request))
        return built[-1]

    key = {"dataset": "noise", "split": "train", "resolution": 16, "options": {}, "data_dir": None, "data": "noise"}
    evaluator = Evaluator(
        [registry.get("metric", "pixel-fid"), registry.get("metric", "fd-dinov2")],
        {"pixels": lambda request: PixelFeatures(), dinov2.name: build_dinov2},
        _Reference(),
        key,
        training_set=_Reference(),
        training_key=key,
        n_generated=8,
        n_reference=8,
        seed=0,
        device=CPU,
        cache_dir=tmp_path,
    )
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(9)) * 2 - 1
    generated = []

    def batches():
        generated.append(len(images))
        return iter([(images, None)])

    fid, fd = evaluator.evaluate_images(batches)

    assert fid.metric == "pixel-fid" and fid.values
    assert fd.metric == "fd-dinov2" and fd.values is None and fd.protocol is None
    assert "No DINOv2 ViT-L/14 weights" in fd.unavailable and "dinov2-vit-l14.weights=" in fd.unavailable
    assert isinstance(built[0], Unavailable)
    assert generated == [8]  # the images were made once, for pixel-fid alone
    cached = [path.name for path in (tmp_path / "reference").iterdir()]
    assert len(cached) == 1 and "pixels" in cached[0]  # reference features for pixel-fid alone
