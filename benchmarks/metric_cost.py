"""What each metric costs once the features are extracted, as a multiple of FID's cost in the same run.

Random features shaped like Inception pool3's (N generated and N reference samples of 2,048
dimensions, Gaussian with distinct means and covariances) go through the compute function of
every metric named by --metrics, as the evaluator calls it, in alternating rounds. Reported:
the median seconds over the rounds and its ratio to FID's median. Extraction (about 10 images/s
per CPU core for Inception) is not included: it is shared by every metric on one extractor.

    .venv/bin/python benchmarks/metric_cost.py --n 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from ganbench import MetricInput
from ganbench.registry import default_registry

DIMENSIONS = 2048


def features(n: int, shift: float, seed: int) -> torch.Tensor:
    rng = torch.Generator().manual_seed(seed)
    mixing = torch.randn(DIMENSIONS, DIMENSIONS, generator=rng) / DIMENSIONS**0.5
    return torch.randn(n, DIMENSIONS, generator=rng) @ mixing + shift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="Generated and reference samples each.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--metrics", default="fid,fd-inf,kid,prc,dc")
    args = parser.parse_args()
    registry = default_registry()
    specs = [registry.get("metric", name) for name in args.metrics.split(",")]
    inputs = MetricInput(features(args.n, 0.1, seed=1), features(args.n, 0.0, seed=2), seed=0)
    seconds: dict[str, list[float]] = {spec.name: [] for spec in specs}
    for _ in range(args.rounds):
        for spec in specs:
            start = time.perf_counter()
            spec.compute(inputs)
            seconds[spec.name].append(time.perf_counter() - start)
    fid = statistics.median(seconds["fid"]) if "fid" in seconds else None
    print(
        f"{args.n:,} generated and {args.n:,} reference samples of {DIMENSIONS} features; {args.rounds} rounds; "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f} at the end"
    )
    print("| metric | median seconds | x FID |")
    print("|---|---|---|")
    for name, times in seconds.items():
        median = statistics.median(times)
        ratio = f"{median / fid:.1f}" if fid else "-"
        print(f"| {name} | {median:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
