"""FID and KID of MNIST train against MNIST test on Inception features, and the reference cache at work.

N images of MNIST's train split (a seeded subset) stand in for generated images and are
evaluated against N images of the test split (all 10,000 by default) by ganbench's own
``Evaluator``, with the ``fid`` and ``kid`` metrics, at ganbench's default resolution (the
28 px digits resized to 32, as a run on mnist sees them; Inception then resizes to 299).

- Evaluation 1 starts from an empty cache: it extracts the features of both sets and stores
  the reference's under ``<cache>/reference``.
- Evaluation 2 is a fresh ``Evaluator`` over the same cache, as a later evaluation or run
  builds it: the same images, with the reference features read from disk.

Each row counts the images that went through Inception and times the evaluation, both its
feature extraction (up to the last image) and its whole wall time (extractor loading and
the metrics included). A sanity row gives the FID of the reference features against
themselves (about 0). The table goes to the console and to ``results/benchmarks/mnist_fid.md``.

    .venv/bin/python benchmarks/mnist_fid.py --data-dir ../shared/data/mnist              # 10,000 vs 10,000
    .venv/bin/python benchmarks/mnist_fid.py --data-dir ../shared/data/mnist --n 500      # a speed check
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ganbench.config import RunConfig
from ganbench.data.identity import cache_dir
from ganbench.errors import MetricUnavailable
from ganbench.evaluation.evaluator import EXTRACT_BATCH, Evaluator, MetricResult
from ganbench.registry import default_registry
from ganbench.specs import ExtractorRequest, ImageDataset, MetricInput, MetricSpec
from ganbench.training.assembly import build_components
from ganbench_plugins.inception import NAME, POOL3, resolve_weights

OUTPUT = Path("results/benchmarks/mnist_fid.md")
SUBSET_SEED = 0
PROGRESS_EVERY = 1000


@dataclass
class Timing:
    """Images through Inception in one evaluation, and when the last of them came out."""

    started: float
    images: int = 0
    extracted: float = 0.0
    next_report: int = PROGRESS_EVERY

    def __call__(self, n: int) -> None:
        self.images += n
        self.extracted = time.perf_counter()
        if self.images >= self.next_report:
            elapsed = self.extracted - self.started
            print(f"  {self.images} images in {elapsed:.0f} s ({self.images / elapsed:.2f} img/s)", flush=True)
            self.next_report += PROGRESS_EVERY


@dataclass(frozen=True)
class Evaluation:
    label: str
    results: list[MetricResult]
    timing: Timing
    wall_s: float

    @property
    def extraction_s(self) -> float:
        return self.timing.extracted - self.timing.started


def train_subset(dataset: ImageDataset, n: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``n`` train images drawn with a fixed seed, unlabelled, in batches."""
    indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(SUBSET_SEED))[:n].tolist()
    for start in range(0, n, EXTRACT_BATCH):
        yield torch.stack([dataset[i][0] for i in indices[start : start + EXTRACT_BATCH]]), None


def evaluate(label: str, evaluator: Evaluator) -> Evaluation:
    print(f"{label}:", flush=True)
    timing = Timing(time.perf_counter())
    results = evaluator.evaluate_images(lambda: train_subset(evaluator.training_set, evaluator.n_generated), timing)
    evaluation = Evaluation(label, results, timing, time.perf_counter() - timing.started)
    values = ", ".join(f"{result.metric} {result.values or result.unavailable}" for result in results)
    print(f"  {timing.images} images, {evaluation.extraction_s:.0f} s extraction, {evaluation.wall_s:.0f} s: {values}")
    return evaluation


def self_fid(fid: MetricSpec, features: torch.Tensor, seed: int) -> str:
    """The FID of ``features`` against themselves (about 0), or why it is unavailable."""
    try:
        return f"{fid.compute(MetricInput(fake=features, real=features, seed=seed))['fid']:.2e}"
    except MetricUnavailable as exc:  # e.g. fewer samples than features: a singular covariance
        return f"unavailable: {exc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist", help="folder of the four MNIST files")
    parser.add_argument("--n", type=int, default=10_000, help="images of each split")
    args = parser.parse_args()
    registry = default_registry()
    weights, source = resolve_weights(
        ExtractorRequest(device=torch.device("cpu"), cache_dir=cache_dir(RunConfig()) / "weights")
    )
    with tempfile.TemporaryDirectory() as results_dir:
        config = RunConfig(
            dataset="mnist",
            data_dir=args.data_dir,
            device="cpu",
            metrics=["fid", "kid"],
            eval_samples=args.n,
            reference_samples=args.n,
            reference_split="test",
            inception_weights=str(weights),
            results_dir=results_dir,
        )
        first = evaluate("evaluation 1 (empty cache)", build_components(config, registry).evaluator)
        later = build_components(config, registry).evaluator
        second = evaluate("evaluation 2 (fresh Evaluator, same cache)", later)
        cached = sorted(path.name for path in (Path(results_dir) / "cache" / "reference").iterdir())
        reference = later.reference_features(later.extractor(NAME))[POOL3]
        started = time.perf_counter()
        sanity = self_fid(registry.get("metric", "fid"), reference, config.seed)
        sanity_s = time.perf_counter() - started

    protocol = first.results[0].protocol
    lines = [
        f"`.venv/bin/python benchmarks/mnist_fid.py --data-dir {args.data_dir} --n {args.n}`",
        "",
        f"{args.n} MNIST train images (seeded subset, seed {SUBSET_SEED}) against {later.n_reference} test images, "
        f"{config.resolution} px, as {protocol.describe() if protocol else NAME}. CPU ({os.cpu_count()} cores, "
        f"shared; load average {os.getloadavg()[0]:.1f} at the end), {torch.get_num_threads()} threads, "
        f"batch {EXTRACT_BATCH}. Weights: {source}. Cached reference features: {', '.join(cached)}.",
        "",
        "| evaluation | images through Inception | extraction s | images/s | wall s (with metrics) "
        "| FID | KID | KID std |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for evaluation in (first, second):
        values = {result.metric: result.values or {} for result in evaluation.results}
        lines.append(
            f"| {evaluation.label} | {evaluation.timing.images} | {evaluation.extraction_s:.0f} | "
            f"{evaluation.timing.images / evaluation.extraction_s:.2f} | {evaluation.wall_s:.0f} | "
            f"{values['fid'].get('fid', float('nan')):.4f} | {values['kid'].get('kid', float('nan')):.6f} | "
            f"{values['kid'].get('kid_std', float('nan')):.6f} |"
        )
    lines += [
        f"| sanity: FID of the {later.n_reference} test features against themselves | 0 | - | - | "
        f"{sanity_s:.0f} | {sanity} | - | - |",
        "",
        f"Evaluation 2 took {second.wall_s / first.wall_s:.2f} of evaluation 1's wall time.",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(table)


if __name__ == "__main__":
    main()
