"""Inception feature extraction speed: ganbench's extractor against torch-fidelity's default call.

The same N uint8 images of ``shapes`` (32 px RGB) go, in alternating rounds, through

- torch-fidelity's default path for FID features, driven by its own functions exactly as
  ``torch_fidelity.calculate_metrics(fid=True, cuda=False)`` drives them: its
  ``inception-v3-compat`` extractor with feature '2048', batch size, DataLoader workers and
  ``torch.no_grad`` from ``torch_fidelity.defaults``, contiguous memory layout;
- ganbench's path: ``build_extractor`` of plugins/inception.py and
  ``ganbench.evaluation.evaluator.extract``, as shipped (channels_last on CPU, batch norms folded into
  the convolutions, batches of ``EXTRACT_BATCH``), and variants of it: without the folding
  (the path before it), other batch sizes (``--batches``, by setting ``EXTRACT_BATCH``) and
  other thread counts (``--threads``).

Both load the same weights, resolved as a ganbench run resolves them (offline: fid-helper-
pytorch's, converted and cached under ``results/cache/weights``). Speeds are medians over
the rounds, each as a ratio to torch-fidelity's in the same run; the feature difference is
that of pool3 against torch-fidelity's. The table goes to the console and to
``results/benchmarks/inception_speed.md``.

    .venv/bin/python benchmarks/inception_speed.py --n 100 --rounds 5 --batches 16,128 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch
from torch_fidelity.defaults import DEFAULTS
from torch_fidelity.utils import (
    create_feature_extractor,
    extract_featuresdict_from_input_id,
    resolve_feature_extractor,
    resolve_feature_layer_for_metric,
)

import ganbench.evaluation.evaluator as evaluation
import ganbench_plugins.inception as inception
from ganbench.config import RunConfig
from ganbench.data.identity import cache_dir
from ganbench.data.images import to_uint8_rgb
from ganbench.registry import default_registry
from ganbench.specs import ExtractorRequest
from ganbench.training.assembly import load_dataset

OUTPUT = Path("results/benchmarks/inception_speed.md")
CPU = torch.device("cpu")


class Images(torch.utils.data.Dataset):
    """uint8 images as the map-style dataset torch-fidelity takes."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@dataclass(frozen=True)
class Variant:
    label: str
    extract: Callable[[], torch.Tensor]  # pool3 features of the benchmark's images


def torch_fidelity_variant(weights: Path, images: torch.Tensor, scratch: Path) -> Variant:
    """torch-fidelity's default extraction, with ``weights`` (given the classifier it loads strictly, unread)."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    full = scratch / "full.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)} | state, full)
    options = {"fid": True, "cuda": False, "verbose": False, "feature_extractor_weights_path": str(full)}
    name, layer = resolve_feature_extractor(**options), resolve_feature_layer_for_metric("fid", **options)
    network = create_feature_extractor(name, [layer], **options)
    dataset = Images(images)

    def extract() -> torch.Tensor:
        return extract_featuresdict_from_input_id(1, network, input1=dataset, **options)[layer]

    label = f"torch-fidelity default (batch {DEFAULTS['batch_size']}, {torch.get_num_threads()} threads)"
    return Variant(label, extract)


def ganbench_variant(
    request: ExtractorRequest, images: torch.Tensor, batch: int, threads: int, fold: bool = True
) -> Variant:
    """ganbench's extraction of ``images`` (in [-1, 1]) in batches of ``batch`` on ``threads`` threads."""
    unfolded = mock.patch.object(inception, "fold_batch_norms", lambda network: network)
    with contextlib.nullcontext() if fold else unfolded:
        extractor = inception.build_extractor(request)

    def extract() -> torch.Tensor:
        with mock.patch.object(evaluation, "EXTRACT_BATCH", batch), _threads(threads):
            return evaluation.extract(extractor, iter([images]), None)[inception.POOL3]

    default = batch == evaluation.EXTRACT_BATCH and threads == torch.get_num_threads() and fold
    details = [f"batch {batch}", f"{threads} thread{'s' * (threads != 1)}"]
    details += [] if fold else ["batch norms not folded"]
    return Variant(f"ganbench{' (as shipped)' if default else ''}, {', '.join(details)}", extract)


@contextlib.contextmanager
def _threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def differences(features: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """max |a - b| and that over max |b|: the relative measure the feature tests use."""
    largest = (features - reference).abs().max().item()
    return largest, largest / reference.abs().max().item()


def counts(text: str) -> list[int]:
    """A comma-separated list of counts ("" : none)."""
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="images per path and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", default="16,128", help="other batch sizes for ganbench's path (comma-separated)")
    parser.add_argument("--threads", default="1", help="other thread counts for ganbench's path (comma-separated)")
    args = parser.parse_args()
    # torch-fidelity's default of min(4, 2 * cores) DataLoader workers is above what it recommends on 2 cores
    warnings.filterwarnings("ignore", message=r"This DataLoader will create", category=UserWarning)

    config = RunConfig()
    dataset = load_dataset(config, default_registry(), "train")
    floats = torch.stack([dataset[i][0] for i in range(args.n)])
    images = to_uint8_rgb(floats)
    request = ExtractorRequest(device=CPU, cache_dir=cache_dir(config) / "weights")
    weights, source = inception.resolve_weights(request)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as scratch:
        variants = [
            torch_fidelity_variant(weights, images, Path(scratch)),
            ganbench_variant(request, floats, evaluation.EXTRACT_BATCH, threads),
            ganbench_variant(request, floats, evaluation.EXTRACT_BATCH, threads, fold=False),
            *(ganbench_variant(request, floats, batch, threads) for batch in counts(args.batches)),
            *(ganbench_variant(request, floats, evaluation.EXTRACT_BATCH, other) for other in counts(args.threads)),
        ]
        load_before = os.getloadavg()
        for variant in variants:  # warm-up: allocator, oneDNN primitives, DataLoader workers' first fork
            variant.extract()
        speeds: list[list[float]] = [[] for _ in variants]
        features: list[torch.Tensor] = [torch.empty(0)] * len(variants)
        for round_ in range(args.rounds):
            # the order flips every round, so that drift within a round favours no variant
            order = range(len(variants)) if round_ % 2 == 0 else reversed(range(len(variants)))
            for index in order:
                start = time.perf_counter()
                features[index] = variants[index].extract()
                speeds[index].append(args.n / (time.perf_counter() - start))
            print(f"round {round_ + 1}: " + ", ".join(f"{s[-1]:.2f}" for s in speeds) + " img/s", flush=True)
        load_after = os.getloadavg()

    baseline = statistics.median(speeds[0])
    lines = [
        f"`.venv/bin/python benchmarks/inception_speed.py --n {args.n} --rounds {args.rounds} "
        f"--batches {args.batches} --threads {args.threads}`",
        "",
        f"{args.n} shapes images (32 px RGB) per path and round, {args.rounds} alternating rounds, CPU "
        f"({os.cpu_count()} cores, load average {load_before[0]:.1f} before and {load_after[0]:.1f} after: "
        f"the cores are shared), torch {torch.__version__}. Weights: {source}.",
        "",
        "| path | median images/s | ratio to torch-fidelity | images/s per round | max abs diff of pool3 "
        "| max abs diff / max abs pool3 |",
        "|---|---|---|---|---|---|",
    ]
    for variant, speed, feature in zip(variants, speeds, features, strict=True):
        absolute, relative = differences(feature, features[0])
        median = statistics.median(speed)
        lines.append(
            f"| {variant.label} | {median:.2f} | {median / baseline:.2f} | "
            f"{' '.join(f'{s:.2f}' for s in speed)} | {absolute:.2e} | {relative:.2e} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(table)


if __name__ == "__main__":
    main()
