"""``proxy``: a small CNN classifier trained on the run's own labelled training split.

A fast, domain-specific feature extractor for work on a CPU (hyperparameter search,
checking that a conditional model draws the classes it is asked for). Its numbers compare
only with other proxy numbers of the same classifier: the protocol names it by its weights
hash; the leaderboard ranks the Inception metrics.

The classifier is trained once per training split (dataset, split, resolution, options,
data dir), architecture and budget, and cached under ``<cache>/proxy/``. Its training is
seeded from a fixed constant, not the run's seed, so every run on the same data shares the
same classifier and its numbers compare across runs. It trains on one CPU thread (the same
weights whatever accelerator or thread count a run uses; other CPUs' arithmetic may still
differ in the last bits, and the weights hash in each protocol tells) and runs on the run's
device.

The network sees images exactly as the evaluator hands them out: uint8 RGB (grey repeated),
scaled to [-1, 1] and resized to 32x32 (antialiased bilinear) when the resolution differs.
Features: ``proxy_features`` (the 128-d global-average-pooled activations) and
``proxy_logits``. Metrics: ``proxy-fid``, ``proxy-kid``, ``proxy-prc`` and ``proxy-is``
(torch-fidelity's formulas, through ``ganbench_plugins.fidelity``) and ``proxy-acc``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import ganbench_plugins.fidelity as fidelity
from ganbench import (
    ConfigError,
    ExtractorRequest,
    FeatureExtractorSpec,
    ImageDataset,
    MetricInput,
    MetricSpec,
    MetricUnavailable,
    atomic_save,
    hookimpl,
)
from ganbench.data import to_uint8_rgb

log = logging.getLogger(__name__)

NAME = "proxy"
FEATURES = "proxy_features"
LOGITS = "proxy_logits"
FORMAT = "ganbench-proxy-1"

# Bump ARCHITECTURE whenever the network, its input or its training changes: it keys the cache.
ARCHITECTURE = "proxy-cnn-1"
INPUT_SIZE = 32
WIDTHS = (32, 64, 128)  # one conv block each; the last width is the feature size

TRAIN_SEED = 1234  # fixed, not the run's seed: every run on the same data shares one classifier
EPOCHS = 4
# images seen in training, all epochs together: 4 epochs of shapes' 9k training images, about 30-40 s on 2 cores
MAX_TRAIN_IMAGES = 40_000
BATCH_SIZE = 64
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 5e-4
HELDOUT_FRACTION = 0.1  # the last 10% of the shuffled training split, never trained on
MAX_HELDOUT = 2_000
EVAL_BATCH = 256
# Training runs on one CPU thread: the weights then do not depend on the thread count (two threads gave other
# weights here), and on two busy cores one thread trained about 5x faster than two (28-55 s vs 210-320 s for
# shapes' full budget).
TRAIN_THREADS = 1


# --------------------------------------------------------------------------- the network


class ProxyNet(nn.Module):
    """Three conv blocks (conv 3x3, BN, ReLU, 2x2 max pool), global average pool, linear."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for width in WIDTHS:
            layers += [
                nn.Conv2d(previous, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            previous = width
        self.blocks = nn.Sequential(*layers)
        self.classifier = nn.Linear(previous, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.blocks(x).mean(dim=(2, 3))
        return features, self.classifier(features)


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (N, 3, H, W) -> float in [-1, 1], (N, 3, 32, 32)."""
    x = images.float().div(127.5).sub(1.0)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x


def weights_hash(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 (16 hex digits) over the architecture's name and every tensor, by sorted name."""
    digest = hashlib.sha256(ARCHITECTURE.encode())
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- the extractor


class ProxyClassifier:
    """A ganbench ``FeatureExtractor`` over a trained ``ProxyNet``.

    ``heldout_accuracy`` is the classifier's accuracy on ``n_heldout`` images of the training
    split it never trained on; ``train_seconds`` how long its training took (when it was
    trained, perhaps by an earlier run); ``trained`` whether this build trained it (False:
    read from ``path``).
    """

    name = NAME
    input_size = None  # it brings any size to its 32 px itself (see ``preprocess``)
    features: tuple[str, ...] = (FEATURES, LOGITS)
    unavailable: Mapping[str, str] = {}

    def __init__(self, network: ProxyNet, record: Mapping[str, Any], path: Path, trained: bool, device: torch.device):
        self.weights_hash = weights_hash(network.state_dict())
        self.num_classes = network.classifier.out_features
        self.heldout_accuracy: float = record["heldout_accuracy"]
        self.n_heldout: int = record["n_heldout"]
        self.train_images: int = record["train_images"]
        self.train_seconds: float = record["train_seconds"]
        self.path = path
        self.trained = trained
        self.device = torch.device(device)
        # channels_last: about 1.5x faster on these CPUs (measured in training)
        self._network = network.to(self.device).to(memory_format=torch.channels_last).eval()

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of uint8 RGB images (N, 3, H, W), as float32 CPU tensors (N, D)."""
        with torch.no_grad():
            x = preprocess(images.to(self.device)).contiguous(memory_format=torch.channels_last)
            features, logits = self._network(x)
        return {FEATURES: features.to("cpu", torch.float32), LOGITS: logits.to("cpu", torch.float32)}


def build_extractor(request: ExtractorRequest) -> ProxyClassifier:
    dataset = request.training_set
    name = str(request.training_key.get("dataset", "the training set"))
    _require_labels(dataset, name)
    assert dataset is not None
    key = cache_key(request.training_key)
    path = cache_path(request.cache_dir, request.training_key, key)
    cached = _load(path, key, dataset.num_classes)
    if cached is not None:
        network, record = cached
        return ProxyClassifier(network, record, path, trained=False, device=request.device)
    network, record = train(dataset, name)
    atomic_save(path, {"format": FORMAT, "key": key, "state": network.state_dict(), **record})
    log.info(
        "Trained the proxy classifier on %s in %.1f s: held-out accuracy %.3f (%d images); saved to %s",
        name,
        record["train_seconds"],
        record["heldout_accuracy"],
        record["n_heldout"],
        path,
    )
    return ProxyClassifier(network, record, path, trained=True, device=request.device)


def _require_labels(dataset: ImageDataset | None, name: str) -> None:
    if dataset is None or len(dataset) < 2 or dataset.num_classes < 2:
        what = (
            "no training set was given"
            if dataset is None
            else f"its training split has {len(dataset)} images"
            if len(dataset) < 2
            else f"its training split has {dataset.num_classes} class(es)"
        )
        raise ConfigError(
            f"The proxy metrics train a classifier on the dataset's labelled training split, and {name} cannot "
            f"give one: {what}. Use the Inception metrics (fid, kid, is) for {name}, or a dataset with at least "
            "2 classes (for imagefolder: one subfolder per class)."
        )


def cache_key(training_key: Mapping[str, Any]) -> str:
    """What identifies a trained classifier, as canonical JSON."""
    budget = {
        "architecture": ARCHITECTURE,
        "input_size": INPUT_SIZE,
        "seed": TRAIN_SEED,
        "epochs": EPOCHS,
        "max_train_images": MAX_TRAIN_IMAGES,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "weight_decay": WEIGHT_DECAY,
        "heldout_fraction": HELDOUT_FRACTION,
        "max_heldout": MAX_HELDOUT,
        "threads": TRAIN_THREADS,
    }
    return json.dumps({"training": dict(training_key), "proxy": budget}, sort_keys=True, default=str)


def cache_path(cache_dir: Path, training_key: Mapping[str, Any], key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    dataset = str(training_key.get("dataset", "dataset")).replace("/", "_")
    return Path(cache_dir) / NAME / f"{dataset}-{training_key.get('resolution', 'any')}px-{digest}.pt"


def _load(path: Path, key: str, num_classes: int) -> tuple[ProxyNet, dict[str, Any]] | None:
    """The cached classifier at ``path`` if it is whole and for ``key``; a damaged file is deleted."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["format"] != FORMAT or saved["key"] != key:
            raise ValueError("written for another key")
        network = ProxyNet(num_classes)
        network.load_state_dict(saved["state"])  # strict: shapes and names must match
        if not all(torch.isfinite(t).all() for t in network.state_dict().values() if t.is_floating_point()):
            raise ValueError("non-finite weights")
        record = {field: saved[field] for field in ("heldout_accuracy", "n_heldout", "train_images", "train_seconds")}
    except Exception as exc:  # a damaged cache entry is retrained, never trusted
        log.warning("Retraining the proxy classifier: its cache %s is unusable (%s)", path, exc)
        path.unlink(missing_ok=True)
        return None
    return network, record


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Split:
    train: list[int]
    heldout: list[int]


def split_indices(n: int, generator: torch.Generator) -> Split:
    """A shuffle of range(n): the last 10% (at most MAX_HELDOUT, at least 1) held out."""
    order = torch.randperm(n, generator=generator).tolist()
    n_heldout = min(MAX_HELDOUT, max(1, int(n * HELDOUT_FRACTION)))
    return Split(order[: n - n_heldout], order[n - n_heldout :])


def train(dataset: ImageDataset, name: str = "the dataset") -> tuple[ProxyNet, dict[str, Any]]:
    """Train a ``ProxyNet`` on ``dataset`` on one CPU thread; the same weights every time on the same machine.

    Leaves the caller's random state and thread count untouched. Returns the network (eval mode) and a record
    of its held-out accuracy and training budget.
    """
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _threads(TRAIN_THREADS):
        torch.manual_seed(TRAIN_SEED)
        generator = torch.Generator().manual_seed(TRAIN_SEED)
        network = ProxyNet(dataset.num_classes).to(memory_format=torch.channels_last)
        split = split_indices(len(dataset), generator)
        steps = math.ceil(min(EPOCHS * len(split.train), MAX_TRAIN_IMAGES) / BATCH_SIZE)
        optimizer = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps, pct_start=0.15)
        network.train()
        seen = 0
        for images, labels in _batches(dataset, split.train, generator, steps, name):
            _, logits = network(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            seen += len(labels)
        network.eval()
        accuracy = heldout_accuracy(network, dataset, split.heldout, name)
    record = {
        "heldout_accuracy": accuracy,
        "n_heldout": len(split.heldout),
        "train_images": seen,
        "train_seconds": time.perf_counter() - start,
    }
    return network, record


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _batches(
    dataset: ImageDataset, indices: list[int], generator: torch.Generator, steps: int, name: str
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` batches, epoch after epoch of ``indices`` reshuffled (the last short batch of an epoch dropped
    unless the epoch is shorter than a batch)."""
    step = 0
    while True:
        order = [indices[i] for i in torch.randperm(len(indices), generator=generator).tolist()]
        size = min(BATCH_SIZE, len(order))
        for begin in range(0, len(order) - size + 1, size):
            yield load(dataset, order[begin : begin + size], name)
            step += 1
            if step == steps:
                return


def load(dataset: ImageDataset, indices: list[int], name: str = "the dataset") -> tuple[torch.Tensor, torch.Tensor]:
    """The network's input for ``dataset[indices]`` (as the evaluator would hand them out) and their labels."""
    items = [dataset[i] for i in indices]
    labels = torch.tensor([label for _, label in items], dtype=torch.int64)
    if bool(((labels < 0) | (labels >= dataset.num_classes)).any()):
        bad = int(labels[(labels < 0) | (labels >= dataset.num_classes)][0])
        raise ConfigError(
            f"The proxy classifier trains on {name}'s labels, but its training split holds label {bad} outside "
            f"0..{dataset.num_classes - 1}. Use the Inception metrics (fid, kid, is) for unlabelled data."
        )
    images = to_uint8_rgb(torch.stack([image for image, _ in items]))
    return preprocess(images).contiguous(memory_format=torch.channels_last), labels


def heldout_accuracy(network: ProxyNet, dataset: ImageDataset, indices: list[int], name: str = "the dataset") -> float:
    correct = 0
    with torch.no_grad():
        for begin in range(0, len(indices), EVAL_BATCH):
            images, labels = load(dataset, indices[begin : begin + EVAL_BATCH], name)
            correct += int((network(images)[1].argmax(dim=1) == labels).sum())
    return correct / len(indices)


# --------------------------------------------------------------------------- metrics


def _double(inputs: MetricInput) -> MetricInput:
    """The features in float64 (128-d: cheap), so FID of a set with itself comes out ~1e-10, not ~1e-4."""
    real = None if inputs.real is None else inputs.real.double()
    return dataclasses.replace(inputs, fake=inputs.fake.double(), real=real)


def proxy_fid(inputs: MetricInput) -> dict[str, float]:
    return {"proxy_fid": fidelity.fid(_double(inputs))["fid"]}


def proxy_kid(inputs: MetricInput) -> dict[str, float]:
    values = fidelity.kid(inputs)
    return {"proxy_kid": values["kid"], "proxy_kid_std": values["kid_std"]}


def proxy_prc(inputs: MetricInput) -> dict[str, float]:
    return {f"proxy_{key}": value for key, value in fidelity.prc(inputs).items()}


def proxy_is(inputs: MetricInput) -> dict[str, float]:
    values = fidelity.inception_score(inputs)
    return {"proxy_is": values["is"], "proxy_is_std": values["is_std"]}


def proxy_accuracy(inputs: MetricInput) -> dict[str, float]:
    """How often the classifier sees the class a conditional model was asked for, beside chance (1 / classes)
    and, as ``proxy_acc_real``, its accuracy on the labelled reference images (what generated images approach)."""
    if inputs.fake_labels is None:
        raise MetricUnavailable(
            "proxy-acc checks generated images against the classes they were asked for, and the model is "
            "unconditional: no requested classes."
        )
    logits, labels = inputs.fake, inputs.fake_labels.to(torch.int64).cpu()
    if len(logits) == 0 or len(logits) != len(labels):
        raise MetricUnavailable(
            f"proxy-acc needs one requested class per generated image; got {len(logits)} images and {len(labels)} "
            "classes."
        )
    accuracy = (logits.argmax(dim=1).cpu() == labels).double().mean().item()
    values = {"proxy_acc": accuracy, "proxy_acc_chance": 1.0 / logits.shape[1]}
    real, real_labels = inputs.real, inputs.real_labels
    if (
        real is not None
        and real_labels is not None
        and len(real) == len(real_labels)
        and bool((real_labels >= 0).all())
    ):
        values["proxy_acc_real"] = (real.argmax(dim=1).cpu() == real_labels.cpu()).double().mean().item()
    return values


@hookimpl
def ganbench_feature_extractors() -> list[FeatureExtractorSpec]:
    return [
        FeatureExtractorSpec(
            name=NAME,
            description="A small CNN classifier trained on the run's labelled training split (cached; fast on a CPU): "
            f"'{FEATURES}' (128-d) and '{LOGITS}'.",
            build=build_extractor,
            needs_labels=True,
        )
    ]


@hookimpl
def ganbench_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="proxy-fid",
            description="FID on the proxy classifier's features: fast, domain-specific; compare only with proxy-fid.",
            extractor=NAME,
            feature=FEATURES,
            compute=proxy_fid,
            biased_below=fidelity.UNBIASED_SAMPLES,
            estimates_covariance=True,
        ),
        MetricSpec(
            name="proxy-kid",
            description="KID on the proxy classifier's features (mean and std over 100 subsets).",
            extractor=NAME,
            feature=FEATURES,
            compute=proxy_kid,
        ),
        MetricSpec(
            name="proxy-prc",
            description="Precision and recall (k=3) on the proxy classifier's features: proxy_prc (their F-score), "
            "proxy_prc_precision, proxy_prc_recall.",
            extractor=NAME,
            feature=FEATURES,
            compute=proxy_prc,
            higher_is_better=True,
            biased_below=fidelity.UNBIASED_SAMPLES,
        ),
        MetricSpec(
            name="proxy-is",
            description="Inception Score computed with the proxy classifier's logits (mean and std over 10 splits).",
            extractor=NAME,
            feature=LOGITS,
            compute=proxy_is,
            needs_reference=False,
            higher_is_better=True,
        ),
        MetricSpec(
            name="proxy-acc",
            description="Share of a conditional model's images that the proxy classifier puts in the class asked for "
            "(with chance level, and proxy_acc_real: its accuracy on the reference images).",
            extractor=NAME,
            feature=LOGITS,
            compute=proxy_accuracy,
            higher_is_better=True,
        ),
    ]
