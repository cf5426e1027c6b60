"""The ``resize`` protocol switch: legacy-tf (the extractor's own TensorFlow-1 bilinear) or clean (clean-fid's)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from cleanfid.resize import make_resizer
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from ganbench import ModelRequest
from ganbench.errors import ConfigError
from ganbench.evaluation.evaluator import Evaluator, Protocol
from ganbench.evaluation.resize import applied_resize, clean_resize
from ganbench_plugins.dcgan import build_dcgan
from tests.support.fast_plugin import PixelFeatures

SIZE = 8


def _images(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))


def _legacy_tf(images: torch.Tensor, size: int) -> torch.Tensor:
    return interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(size, size), align_corners=False)


def test_clean_resize_is_clean_fids_resize_rounded_to_8_bits():
    images = _images()
    resizer = make_resizer("PIL", False, "bicubic", (299, 299))
    expected = np.stack([resizer(image.permute(1, 2, 0).numpy()) for image in images])
    expected = torch.from_numpy(np.round(expected)).permute(0, 3, 1, 2)
    resized = clean_resize(images, 299)
    assert resized.dtype == torch.uint8 and resized.shape == (4, 3, 299, 299)
    assert torch.equal(resized.float(), expected)
    # not what legacy-tf makes of the same images: the switch changes the pixels the network reads
    assert (resized.float() - _legacy_tf(images, 299)).abs().mean() > 1


def test_clean_resize_antialiases_where_legacy_tf_aliases():
    # a one-pixel checkerboard shrunk 4x is flat mid-grey; sampling every 4th pixel without a filter sees one colour
    board = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 255).to(torch.uint8)
    images = board.expand(1, 3, 64, 64).contiguous()
    clean = clean_resize(images, 16).float()
    assert (clean - 127.5).abs().max() < 2
    assert (_legacy_tf(images, 16) - 127.5).abs().min() > 100


class _SizedPixels(PixelFeatures):
    """The test pixels extractor with an input size, recording the sizes it is given."""

    input_size = SIZE

    def __init__(self) -> None:
        self.sizes: set[tuple[int, int]] = set()

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.sizes.add(tuple(images.shape[-2:]))
        return super().__call__(images)


class _Noise:
    channels, num_classes, class_names = 3, 0, []

    def __init__(self) -> None:
        self.images = torch.rand(30, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], -1


def _evaluate(registry, tmp_path: Path, extractor, resize: str):
    key = {"dataset": "noise", "split": "train", "resolution": 32, "options": {}, "data_dir": None, "data": "noise"}
    evaluator = Evaluator(
        [registry.get("metric", "pixel-fid")],
        {"pixels": lambda request: extractor},
        _Noise(),
        key,
        training_set=_Noise(),
        training_key=key,
        n_generated=20,
        n_reference=30,
        seed=0,
        device=torch.device("cpu"),
        cache_dir=tmp_path,
        resize=resize,
    )
    torch.manual_seed(0)
    (result,) = evaluator.evaluate(build_dcgan(ModelRequest(32, 3, 0, 16, {"width": 8})), batch_size=10)
    return result


def test_clean_resizes_before_the_extractor_and_says_so_in_the_protocol(registry, tmp_path):
    clean, legacy = _SizedPixels(), _SizedPixels()
    clean_result = _evaluate(registry, tmp_path, clean, "clean")
    legacy_result = _evaluate(registry, tmp_path, legacy, "legacy-tf")
    assert clean.sizes == {(SIZE, SIZE)} and legacy.sizes == {(32, 32)}  # legacy-tf: the extractor resizes
    assert clean_result.protocol.resize == "clean" and legacy_result.protocol.resize == "legacy-tf"
    assert clean_result.protocol.describe().endswith(", 32px, clean resize")
    assert legacy_result.protocol.describe().endswith(", 32px")  # the default reads as before the setting
    assert clean_result.protocol != legacy_result.protocol
    # each resize has its own reference features: the second evaluation did not read the first's cache
    assert clean_result.value != legacy_result.value
    assert len(list((tmp_path / "reference").iterdir())) == 2


def test_an_extractor_without_an_input_size_is_left_alone(registry, tmp_path):
    extractor = PixelFeatures()
    result = _evaluate(registry, tmp_path, extractor, "clean")
    assert result.protocol.resize is None and result.protocol.describe().endswith(", 32px")
    assert applied_resize(extractor, "legacy-tf") is None


def test_an_unknown_resize_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="legacy-tf, clean"):
        applied_resize(_SizedPixels(), "bilinear")


def test_protocols_of_records_written_before_the_setting_read_as_legacy_tf():
    old = Protocol("inception-v3-compat", "0eedee2f12345678", 5000, 10000, "cifar10/test", 32)
    assert old.resize == "legacy-tf"


def test_torch_fidelitys_own_resize_leaves_clean_resized_images_as_they_are():
    # clean hands Inception 299 x 299 images, which its internal TensorFlow-1 resize must not touch again
    from ganbench_plugins.inception import InceptionV3Compat

    assert InceptionV3Compat.input_size == 299
    images = clean_resize(_images(2), 299)
    assert torch.equal(_legacy_tf(images, 299), images.float())
