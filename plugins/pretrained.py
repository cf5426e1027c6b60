"""Pretrained feature extractors beyond Inception: built from their weights, or reported unavailable.

A helper of the extractor plugins ``dinov2``, ``clip_vit`` and ``vgg16``, not a plugin itself. Their
weights come from, in order:

1. the file the user names, the extractor's option ``weights``
   (``--extractor-option dinov2-vit-b14.weights=PATH``);
2. the official file in torch hub's cache, downloaded there if need be (within seconds this gives up where
   there is no network), under the name torch-fidelity or torchvision gives it, so their downloads are found.

Without weights, or with a file that does not load, the extractor is built *unavailable*: it provides no
feature, the evaluator extracts nothing with it, and every metric on it is reported unavailable with the
reason and the fix, while the run's other metrics are computed as usual. (An error would be wrong here:
extractors are built at the first evaluation, after training, and an optional backbone's missing file must
not cost a run its FID.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

import ganbench_plugins.weights as weights
from ganbench import ExtractorRequest, FeatureExtractor, GanbenchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfficialWeights:
    """Where an extractor's official weights are published, and their file name in torch hub's cache."""

    extractor: str  # the extractor's name, e.g. "dinov2-vit-b14"
    network: str  # the network, for people, e.g. "DINOv2 ViT-B/14"
    url: str
    file_name: str

    def fix(self) -> str:
        return (
            f"Fix: download {self.url} on a machine with internet, then pass --extractor-option "
            f"{self.extractor}.weights=/path/to/{self.file_name}, or put the file in torch hub's cache at "
            f"{weights.hub_path(self.file_name)}."
        )


def locate(official: OfficialWeights, options: Mapping[str, Any]) -> tuple[Path, str]:
    """The weights file to load and where it came from; GanbenchError with the fix when there is none."""
    if options.get("weights"):
        path = Path(options["weights"]).expanduser()
        if not path.is_file():
            raise GanbenchError(
                f"The {official.network} weights file {path} (--extractor-option {official.extractor}.weights) "
                f"does not exist. {official.fix()}"
            )
        return path, f"{path} (--extractor-option {official.extractor}.weights)"
    path = weights.hub_file(official.url, official.file_name)
    if path is None:
        raise GanbenchError(
            f"No {official.network} weights: they are not in torch hub's cache and could not be downloaded (no "
            f"network?). {official.fix()}"
        )
    return path, f"{path} (torch hub's cache)"


def build(
    official: OfficialWeights,
    features: tuple[str, ...],
    request: ExtractorRequest,
    load: Callable[[Path], FeatureExtractorBase],
) -> FeatureExtractor:
    """The extractor of the torch-fidelity network that ``load`` makes from the weights file (computing
    ``features``), or an ``Unavailable`` one, with the reason and the fix, where there are no weights or they
    do not load."""
    try:
        path, source = locate(official, request.options)
    except GanbenchError as exc:
        return Unavailable(official.extractor, features, str(exc))
    try:
        network = load(path)
    except Exception as exc:  # torch.load, TorchScript and load_state_dict fail in many ways on a wrong file
        reason = f"Could not load {path} as {official.network} weights: {exc}. {official.fix()}"
        return Unavailable(official.extractor, features, reason)
    log.info("%s weights: %s", official.network, source)
    return Pretrained(official.extractor, network, source, request.device)


class Pretrained:
    """A torch-fidelity network as a ganbench ``FeatureExtractor``: uint8 RGB images in, float32 CPU features out.

    The network resizes the images to ``input_size`` itself (TensorFlow-1 bilinear) and normalises them.
    ``weights_hash`` is taken over the network as loaded, so it changes with the weights and with the way
    they are loaded (e.g. DINOv2's resampled position embeddings).
    """

    unavailable: Mapping[str, str] = MappingProxyType({})

    def __init__(self, name: str, network: FeatureExtractorBase, source: str, device: torch.device) -> None:
        self.name = name
        self.source = source
        self.features: tuple[str, ...] = tuple(network.features_list)
        # torch-fidelity's CLIP takes its size from its weights; its other networks declare it
        self.input_size = int(getattr(network, "resolution", None) or network.INPUT_IMAGE_SIZE)
        self.weights_hash = weights.state_hash(network.state_dict())
        self.device = torch.device(device)
        self._network = network.eval().to(self.device)

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of uint8 RGB images (N, 3, H, W), as float32 CPU tensors (N, D)."""
        with torch.no_grad():
            outputs = self._network(images.to(self.device))
        return {name: output.to("cpu", torch.float32) for name, output in zip(self.features, outputs, strict=True)}


class Unavailable:
    """An extractor without usable weights: it provides none of its ``features``, and ``unavailable`` says why."""

    weights_hash = ""
    features: tuple[str, ...] = ()
    input_size = None

    def __init__(self, name: str, features: tuple[str, ...], reason: str) -> None:
        self.name = name
        self.unavailable: Mapping[str, str] = MappingProxyType(dict.fromkeys(features, reason))
        log.warning("%s is unavailable: %s", name, reason)

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}  # the evaluator does not call an extractor that provides none of the features its metrics read
