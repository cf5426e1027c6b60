"""Does the data path keep up with training? Images/s it delivers alone, against a training step's.

On an image folder (e.g. the CIFAR-10 JPEG copy), measures in one process:

- the first load of the train split (listing, fingerprint and decoding every image into the
  cache) and a later load (from the cache);
- the batches/s of ``real_batches`` alone, as training draws them, from the cached tensors and
  from the files decoded on every read (the path of a split too large to cache), with 0, 1, 2 ...
  ``--workers`` and with pinned memory;
- the images/s of DCGAN's training step on batches already in memory (the consumer).

Each data-path figure is also given as a ratio to the training step, measured in the same run:
a ratio well above 1 means that path never starves this trainer. Run it on an idle machine:

    .venv/bin/python benchmarks/data_path.py --data-dir ../shared/data/cifar10-jpeg --out results/benchmarks/data-path
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from overhead import hand_written  # benchmarks/ is on the path when a script of it runs

from ganbench.config import RunConfig
from ganbench.data.batches import real_batches
from ganbench.data.images import ImageFileDataset, TensorImageDataset
from ganbench.registry import default_registry
from ganbench.specs import ImageDataset
from ganbench.training.assembly import load_dataset
from ganbench_plugins import imagefolder

BATCH, RESOLUTION = 64, 32


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def delivery(dataset: ImageDataset, batches: int, workers: int, pin: bool) -> float:
    """Images/s of ``real_batches`` over ``batches`` batches (after one warm-up batch: worker start-up excluded)."""
    stream = real_batches(dataset, BATCH, seed=0, workers=workers)
    if pin:
        stream = (tuple(part.pin_memory() for part in batch) for batch in stream)
    next(stream)
    seconds, _ = timed(lambda: list(itertools.islice(stream, batches)))
    return batches * BATCH / seconds


def training_step(dataset: TensorImageDataset, steps: int) -> float:
    """Images/s of DCGAN's training step (width 64, BCE, batch 64) on images already in memory as floats: the
    hand-written loop of ``overhead.py``, so the consumer's speed holds no data-path cost at all."""
    images = dataset.images[: 64 * BATCH].float().div(127.5).sub(1)
    hand_written(images, 3, seed=0)  # warm-up
    return hand_written(images, steps, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="An image folder, e.g. ../shared/data/cifar10-jpeg.")
    parser.add_argument("--batches", type=int, default=100, help="Batches per data-path measurement.")
    parser.add_argument("--steps", type=int, default=40, help="Training steps measured.")
    parser.add_argument("--workers", default="0,1,2", help="Worker counts to measure, comma-separated.")
    parser.add_argument("--out", type=Path, help="Write the table to OUT.md.")
    args = parser.parse_args()
    worker_counts = [int(count) for count in args.workers.split(",")]
    registry = default_registry()
    with tempfile.TemporaryDirectory() as results:
        config = RunConfig(dataset="imagefolder", data_dir=args.data_dir, results_dir=results, resolution=RESOLUTION)
        first, cached = timed(lambda: load_dataset(config, registry, "train"))
        later, _ = timed(lambda: load_dataset(config, registry, "train"))
        limit, imagefolder.CACHE_LIMIT = imagefolder.CACHE_LIMIT, 0
        files = load_dataset(config, registry, "train")
        imagefolder.CACHE_LIMIT = limit
    assert isinstance(files, ImageFileDataset) and isinstance(cached, TensorImageDataset)
    consumer = training_step(cached, args.steps)
    rows = [("training step alone (DCGAN, width 64, batch 64): the consumer", consumer)]
    for source, dataset in (("cached tensors", cached), ("files decoded on read", files)):
        for workers in worker_counts:
            for pin in (False, True) if torch.cuda.is_available() else (False,):  # pinning needs a GPU driver
                label = f"{source}, {workers} workers{', pinned' if pin else ''}"
                rows.append((label, delivery(dataset, args.batches, workers, pin)))
    header = (
        f"{len(cached):,} train images of {args.data_dir} at {RESOLUTION}px: first load (list, fingerprint, decode "
        f"into the cache) {first:.1f} s, later load (from the cache) {later:.2f} s. torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {len(os.sched_getaffinity(0))} cores, load average "
        f"{os.getloadavg()[0]:.2f}."
        + ("" if torch.cuda.is_available() else " Pinned memory not measured: it needs a GPU driver.")
    )
    lines = [header, "", "| path | images/s | × the training step |", "|---|---|---|"]
    lines += [f"| {label} | {speed:,.0f} | {speed / consumer:.2f} |" for label, speed in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(
            f"`python benchmarks/data_path.py --data-dir {args.data_dir} --batches {args.batches} "
            f"--steps {args.steps} --workers {args.workers}`\n\n{text}"
        )


if __name__ == "__main__":
    main()
