"""Training-loop overhead: ganbench's loop against a minimal hand-written PyTorch loop.

Both train the same DCGAN (32 px, width 64, batch 64, BCE, Adam 2e-4/0.5) on the same
in-memory shapes images in the same process, alternating rounds so that machine drift hits
both alike. The hand-written loop follows the same algorithm (a fresh generated batch for
each update, as any loop with several D steps per G step needs), so the ratio measures the
harness, not a choice of algorithm. ganbench's speed is its own reported training throughput (evaluation time is
excluded, logging, progress and checks are included). ganbench runs twice per round: with
the hand-written loop's memory layout (the harness's own overhead; target: ratio >= 0.95)
and with its defaults (channels-last on).

    .venv/bin/python benchmarks/overhead.py --steps 100 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import ganbench
from ganbench import ModelRequest
from ganbench.config import RunConfig
from ganbench.registry import default_registry
from ganbench.training.assembly import load_dataset

BATCH, WIDTH, Z_DIM, RESOLUTION = 64, 64, 100, 32


def hand_written(images: torch.Tensor, steps: int, seed: int) -> float:
    """The loop a researcher would write by hand: images per second over ``steps`` steps."""
    torch.manual_seed(seed)
    model = default_registry().get("model", "dcgan").build(ModelRequest(RESOLUTION, 3, 0, Z_DIM, {"width": WIDTH}))
    G, D = model.generator, model.discriminator
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    order = torch.randperm(len(images))
    start = time.perf_counter()
    for step in range(steps):
        index = order[(step * BATCH) % (len(images) - BATCH) :][:BATCH]
        real = images[index]
        with torch.no_grad():
            fake = G(torch.randn(BATCH, Z_DIM))
        d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(D(fake), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(BATCH, Z_DIM))), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    return steps * BATCH / (time.perf_counter() - start)


def ganbench_loop(steps: int, seed: int, results_dir: str, channels_last: bool) -> float:
    flags = {
        "model": "dcgan",
        "dataset": "shapes",
        "steps": steps,
        "batch_size": BATCH,
        "seed": seed,
        "channels_last": channels_last,
        "eval_every": steps,
        "log_every": 50,
        "metrics": ["fid"],
        "eval_samples": 20,
        "reference_samples": 20,
        "grid_size": 16,
        "results_dir": results_dir,
        "model_options": {"width": WIDTH},
    }
    return ganbench.train(flags, quiet=True).images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = torch.stack([image for image, _ in load_dataset(RunConfig(), default_registry(), "train")])
    with tempfile.TemporaryDirectory() as results_dir:
        hand_written(images, 10, 0)  # warm-up: allocator and kernels
        hand, same_layout, default = [], [], []
        for round_ in range(args.rounds):
            hand.append(hand_written(images, args.steps, round_))
            same_layout.append(ganbench_loop(args.steps, round_, results_dir, channels_last=False))
            default.append(ganbench_loop(args.steps, round_, results_dir, channels_last=True))
            print(
                f"round {round_ + 1}: hand-written {hand[-1]:.1f}, ganbench (same layout) {same_layout[-1]:.1f}, "
                f"ganbench (default, channels-last) {default[-1]:.1f} img/s"
            )
    baseline = statistics.median(hand)
    print(
        f"median img/s: hand-written {baseline:.1f}, ganbench same layout {statistics.median(same_layout):.1f}, "
        f"ganbench default {statistics.median(default):.1f} ({torch.get_num_threads()} threads)"
    )
    print(
        f"ratio ganbench / hand-written, same memory layout (harness overhead) = "
        f"{statistics.median(same_layout) / baseline:.3f} (target >= 0.95)"
    )
    print(f"ratio ganbench / hand-written, ganbench defaults = {statistics.median(default) / baseline:.3f}")


if __name__ == "__main__":
    main()
