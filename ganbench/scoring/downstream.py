"""Downstream usefulness of generated images: do they help a classifier trained on little real data?

For each seed, three classifiers train under one budget (steps, batch size, optimizer and schedule
all fixed) and are tested on the same images of the dataset's test split:

- real: on the real training images (all of them, or a share drawn at random by the seed);
- real+generated: on those plus ``synthetic_ratio`` generated images per real one, requested in
  equal numbers per class;
- CAS, the classification accuracy score (Ravuri & Vinyals 2019): on generated images only, as
  many as the real ones (the first of the same generated set), tested on real images.

Within a seed the three start from the same initial weights and shuffle their data from the same
seed, so the real+generated - real difference is paired; its confidence interval is Student's t
over the seeds (wide with few seeds: 3 seeds give t = 4.30). The variation over seeds covers the
classifier's initialisation and data order, the draw of the real share and of the generated images;
it does not cover the generator's own training, which is one run.

What it does not measure: other budgets (a longer schedule may favour either arm), augmentation of
the real images (none is used), and the source of a gain when the generator learnt from more real
images than the real arm sees (the report says when that is so).

The classifier is torchvision's ResNet-18 without pretrained weights, adapted to 28-64 px images:
its 7x7 stride-2 stem conv becomes a 3x3 stride-1 conv over the dataset's channels, and the max
pool after it stays, so the four stages see 1/2 to 1/16 of the input size. (CIFAR ResNets also drop
the max pool: 2.5x the compute, which a 2-core CPU cannot afford in a useful budget.) Optimizer:
SGD with Nesterov momentum 0.9, weight decay 5e-4, a one-cycle learning rate peaking at 0.05.
Deterministic given the seeds on the same machine and thread count (CPU).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn
from torchvision.models import resnet18

from ganbench.data.images import to_signed_unit, to_uint8
from ganbench.errors import ConfigError
from ganbench.specs import ImageDataset
from ganbench.training.loop import progress_bar

REAL, AUGMENTED, CAS = ARMS = ("real", "real+generated", "generated (CAS)")
CLASSIFIER = "resnet18 (3x3 stride-1 stem, max pool kept, no pretrained weights)"
OPTIMIZER = "SGD nesterov 0.9, wd 5e-4, one-cycle lr 0.05"
LEARNING_RATE = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
WARMUP = 0.15  # share of the steps over which the one-cycle schedule rises
TEST_BATCH = 256
CONFIDENCE = 0.95

# Images for requested classes (int64, N) from a seed: uint8 (N, C, H, W).
Synthesizer = Callable[[torch.Tensor, int], torch.Tensor]


@dataclass(frozen=True)
class Budget:
    """What every classifier gets, whichever data it trains on."""

    steps: int
    batch_size: int
    seeds: int  # seeds first_seed, first_seed + 1, ...
    real_fraction: float = 1.0
    synthetic_ratio: float = 1.0
    test_samples: int = 0  # 0: the whole test split

    def check(self) -> None:
        problems = {
            "--classifier-steps": (self.steps > 0, "must be at least 1"),
            "--classifier-batch-size": (self.batch_size > 1, "must be at least 2 (batch norm needs 2 images)"),
            "--seeds": (self.seeds > 0, "must be at least 1 (2 or more for a confidence interval)"),
            "--real-fraction": (0 < self.real_fraction <= 1, "must be in (0, 1]"),
            "--synthetic-ratio": (self.synthetic_ratio > 0, "must be greater than 0"),
            "--test-samples": (self.test_samples >= 0, "must be 0 (the whole test split) or more"),
        }
        for flag, (valid, rule) in problems.items():
            if not valid:
                raise ConfigError(f"{flag} {rule}.")

    def real_images(self, train_size: int) -> int:
        """How many real images the real arms train on, out of ``train_size``; at least one batch."""
        n_real = max(1, round(self.real_fraction * train_size))
        if n_real < self.batch_size:
            raise ConfigError(
                f"The real training set would hold {n_real} images, fewer than one batch of {self.batch_size}. "
                "Raise --real-fraction or lower --classifier-batch-size."
            )
        return n_real


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    level: float


@dataclass
class AugmentResult:
    """Test accuracies per arm and seed, and what they were measured with."""

    budget: Budget
    seeds: list[int]
    n_real: int
    n_generated: int
    n_test: int
    num_classes: int
    accuracies: dict[str, list[float]] = field(default_factory=lambda: {arm: [] for arm in ARMS})

    @property
    def differences(self) -> list[float]:
        return [b - a for a, b in zip(self.accuracies[REAL], self.accuracies[AUGMENTED], strict=True)]

    def describe(self) -> str:
        b = self.budget
        return (
            f"{CLASSIFIER}, {b.steps} steps x {b.batch_size}, {OPTIMIZER}; {self.n_real} real + {self.n_generated} "
            f"generated training images (CAS: {self.n_real} generated); {self.n_test} test images; "
            f"seeds {', '.join(map(str, self.seeds))}"
        )

    def as_record(self) -> dict[str, Any]:
        interval = t_interval(self.differences)
        return {
            "classifier": CLASSIFIER,
            "optimizer": OPTIMIZER,
            "budget": self.budget.__dict__,
            "seeds": self.seeds,
            "n_real": self.n_real,
            "n_generated": self.n_generated,
            "n_test": self.n_test,
            "num_classes": self.num_classes,
            "accuracies": self.accuracies,
            "mean_sd": {arm: mean_sd(values) for arm, values in self.accuracies.items()},
            "difference": self.differences,
            "difference_interval": interval.__dict__ if interval else None,
        }


def mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and the sample standard deviation (None from one value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def t_interval(values: Sequence[float], level: float = CONFIDENCE) -> Interval | None:
    """Student's t confidence interval of the mean of ``values``; None from fewer than 2."""
    if len(values) < 2:
        return None
    from scipy.stats import t  # scipy loads slowly: only when an interval is asked for

    mean = statistics.fmean(values)
    half = float(t.ppf((1 + level) / 2, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, level)


def classifier(channels: int, num_classes: int) -> nn.Module:
    """ResNet-18 for small images (see the module's docstring)."""
    network = resnet18(weights=None, num_classes=num_classes)
    network.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    return network


def run_augment(
    training_set: ImageDataset,
    test_set: ImageDataset,
    synthesize: Synthesizer,
    budget: Budget,
    first_seed: int,
    device: torch.device,
    console: Console,
) -> AugmentResult:
    """Train and test the three classifiers of each of ``budget.seeds`` seeds, from ``first_seed`` on."""
    budget.check()
    num_classes = training_set.num_classes
    n_real = budget.real_images(len(training_set))
    n_generated = max(1, round(budget.synthetic_ratio * n_real))
    test_images, test_labels = _gather(test_set, _first(len(test_set), budget.test_samples))
    seeds = list(range(first_seed, first_seed + budget.seeds))
    result = AugmentResult(budget, seeds, n_real, n_generated, len(test_labels), num_classes)
    with progress_bar(console) as progress:
        for seed in seeds:
            chosen = torch.randperm(len(training_set), generator=torch.Generator().manual_seed(seed))[:n_real]
            real_images, real_labels = _gather(training_set, chosen)
            requested = torch.arange(max(n_generated, n_real)) % num_classes
            generated = synthesize(requested, seed)
            if generated.shape[1:] != real_images.shape[1:]:
                raise ConfigError(
                    f"The generated images are {tuple(generated.shape[1:])} (C, H, W) and the real ones "
                    f"{tuple(real_images.shape[1:])}: they cannot train one classifier."
                )
            sets = {
                REAL: (real_images, real_labels),
                AUGMENTED: (
                    torch.cat([real_images, generated[:n_generated]]),
                    torch.cat([real_labels, requested[:n_generated]]),
                ),
                CAS: (generated[:n_real], requested[:n_real]),
            }
            for arm, (images, labels) in sets.items():
                task = progress.add_task(f"seed {seed} {arm}", total=budget.steps, stats="")
                network = train_classifier(
                    images, labels, num_classes, seed, budget, device, functools.partial(progress.advance, task)
                )
                accuracy = test_accuracy(network, test_images, test_labels, device)
                progress.update(task, stats=f"test accuracy {accuracy:.4f}")
                result.accuracies[arm].append(accuracy)
    return result


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    seed: int,
    budget: Budget,
    device: torch.device,
    on_step: Callable[[], None] | None = None,
) -> nn.Module:
    """A classifier trained on uint8 ``images`` (N, C, H, W) for ``budget.steps`` steps, from ``seed``.

    Leaves the caller's random state alone.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = classifier(images.shape[1], num_classes).to(device)
        optimizer = torch.optim.SGD(
            network.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, nesterov=True
        )
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, LEARNING_RATE, total_steps=budget.steps, pct_start=WARMUP
        )
        network.train()
        order = _epochs(len(images), budget.batch_size, torch.Generator().manual_seed(seed))
        for _ in range(budget.steps):
            batch = next(order)
            logits = network(to_signed_unit(images[batch]).to(device))
            loss = F.cross_entropy(logits, labels[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if on_step:
                on_step()
    return network.eval()


@torch.no_grad()
def test_accuracy(network: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    correct = 0
    for start in range(0, len(images), TEST_BATCH):
        logits = network(to_signed_unit(images[start : start + TEST_BATCH]).to(device))
        correct += int((logits.argmax(1).cpu() == labels[start : start + TEST_BATCH]).sum())
    return correct / len(images)


def _epochs(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless batches of indices, a fresh order each epoch, every image in every epoch but the last partial batch.

    Indices rather than ``ganbench.data.batches.real_batches``: the classifier's images are tensors already
    in memory, and the loop draws them by index.
    """
    while True:
        order = torch.randperm(n, generator=generator)
        yield from order[: n - n % batch_size].split(batch_size)


def _first(n: int, wanted: int) -> torch.Tensor:
    """The first ``wanted`` indices of a fixed shuffle of range(n) (0: all), the same for every arm and seed."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return order[:wanted] if wanted else order


def _gather(dataset: ImageDataset, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The dataset's images at ``indices`` as uint8 (N, C, H, W), and their labels."""
    items = [dataset[int(i)] for i in indices]
    return torch.stack([to_uint8(image) for image, _ in items]), torch.tensor([label for _, label in items])
