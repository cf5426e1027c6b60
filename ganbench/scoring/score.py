"""``ganbench eval``: score a checkpoint or a folder of images under the run protocol, print it, record it.

Every value is printed with its protocol and flags, or as unavailable with the reason as a footnote. The
record (``<results>/eval/<name>-<time>.json``) holds the values, their protocols, the settings and, with
``--augment``, every classifier's accuracy. Nothing is logged to MLflow.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ganbench.config import as_dict
from ganbench.errors import ConfigError
from ganbench.evaluation.evaluator import MetricResult
from ganbench.evaluation.report import Footnotes, value_text
from ganbench.registry import Registry
from ganbench.scoring.downstream import AUGMENTED, CAS, REAL, AugmentResult, Budget, mean_sd, run_augment, t_interval
from ganbench.scoring.sources import Source, open_source
from ganbench.training.assembly import load_dataset, pick_device
from ganbench.training.loop import progress_bar
from ganbench.version import __version__

TEST_SPLIT = "test"


@dataclass
class Scored:
    source: Source
    results: list[MetricResult]
    augment: AugmentResult | None
    caveats: list[str]
    record: Path


def score(
    location: str,
    registry: Registry,
    flags: dict[str, Any],
    augment: Budget | None,
    console: Console,
    checkpoint: str = "last",
) -> Scored:
    """Evaluate the source at ``location`` (of a run id: its ``checkpoint``, last or best) with ``flags`` on its
    settings, then (``augment``) train classifiers."""
    source = open_source(location, registry, flags, checkpoint)
    if augment:
        _check_augment(source, registry, augment)
    config = source.config
    what = f"{source.kind} {source.location}" + (f" (step {source.step})" if source.step is not None else "")
    console.print(
        f"[bold]ganbench eval[/]: {source.count} images of {what} against {config.dataset} at {config.resolution}px, "
        f"seed {config.seed}"
    )
    with progress_bar(console) as progress:
        task = progress.add_task("evaluating", total=None, stats="")
        results = source.evaluator.evaluate_images(source.batches, lambda n: progress.advance(task, n), source.paired)
        progress.remove_task(task)
    augmented, caveats = None, []
    if augment:
        assert source.synthesize is not None  # checked above
        test_set = load_dataset(config, registry, TEST_SPLIT, reference=True)
        augmented = run_augment(
            source.training_set, test_set, source.synthesize, augment, config.seed, pick_device(config.device), console
        )
        caveats = _caveats(source, augmented)
    scored = Scored(source, results, augmented, caveats, _record_path(source))
    _write_record(scored)
    return scored


def _check_augment(source: Source, registry: Registry, budget: Budget) -> None:
    """Refuse, before any training, what ``--augment`` cannot do."""
    budget.check()
    budget.real_images(len(source.training_set))
    if source.synthesize is None:
        raise ConfigError(
            f"--augment trains classifiers on generated images of known classes, and {source.unlabelled_reason}"
        )
    dataset = source.config.dataset
    if TEST_SPLIT not in registry.get("dataset", dataset).splits:
        raise ConfigError(f"--augment tests classifiers on {dataset}'s {TEST_SPLIT} split, and {dataset} has none.")
    if source.training_set.num_classes < 2:
        raise ConfigError(f"--augment trains classifiers, and {dataset}'s train split has no classes here.")


def _caveats(source: Source, result: AugmentResult) -> list[str]:
    caveats = []
    if source.generator_images and source.generator_images > result.n_real:
        caveats.append(
            f"The generator learnt from {source.generator_images} real images, the real arm from {result.n_real}: "
            "its images carry information from real images the real arm never sees, so a gain would not show that "
            "generation helps. To measure augmentation alone, train the generator on the real arm's images (e.g. "
            "the dataset's fraction option) and pass --real-fraction 1."
        )
    if len(result.seeds) < 2:
        caveats.append("One seed: no standard deviation and no confidence interval (pass --seeds 2 or more).")
    return caveats


def _record_path(source: Source) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(source.config.results_dir) / "eval" / f"{source.name}-{stamp}.json"


def _write_record(scored: Scored) -> None:
    source = scored.source
    record = {
        "ganbench_version": __version__,
        "created": datetime.now().isoformat(timespec="seconds"),
        "command": ["ganbench", *sys.argv[1:]],
        "source": {
            "kind": source.kind,
            "location": str(source.location),
            "name": source.name,
            "step": source.step,
            "images": source.count,
        },
        "settings": as_dict(source.config),
        "results": [result.as_record() for result in scored.results],
        "augment": {**scored.augment.as_record(), "caveats": scored.caveats} if scored.augment else None,
    }
    scored.record.parent.mkdir(parents=True, exist_ok=True)
    scored.record.write_text(json.dumps(record, indent=1))


# --------------------------------------------------------------------------- printing


def print_scored(scored: Scored, console: Console) -> None:
    notes = Footnotes(scored.results)
    table = Table(header_style="bold")
    for column in ("metric", "value"):
        table.add_column(column, overflow="fold")
    for result in scored.results:
        if result.values is None:
            table.add_row(result.metric, Text(notes.unavailable(result)))
            continue
        table.add_row(result.metric, Text(value_text(result) + notes.marks(result)))  # Text: "[a]" is no markup
    if table.row_count:
        console.print(table)
        notes.print(console)
    if scored.augment:
        console.print(augment_table(scored.augment))
        for caveat in scored.caveats:
            console.print(f"[yellow]caveat:[/] {caveat}")
    console.print(f"record       {scored.record}")


def augment_table(result: AugmentResult) -> Table:
    """Accuracy of each arm, the paired difference with its interval, CAS; the protocol as the caption."""
    table = Table(title="downstream classifiers (--augment)", caption=result.describe(), header_style="bold")
    for column in ("measure", "value", "per seed"):
        table.add_column(column, overflow="fold")
    for arm in (REAL, AUGMENTED):
        table.add_row(
            f"test accuracy, trained on {arm}", _mean_sd(result.accuracies[arm]), _per_seed(result.accuracies[arm])
        )
    interval = t_interval(result.differences)
    difference = mean_sd(result.differences)[0]
    shown = (
        f"{difference:+.4f}, {interval.level:.0%} CI [{interval.low:+.4f}, {interval.high:+.4f}] "
        f"(Student t, {len(result.differences) - 1} df)"
        if interval
        else f"{difference:+.4f} (no interval from one seed)"
    )
    table.add_row("difference (real+generated - real)", shown, _per_seed(result.differences, signed=True))
    cas = result.accuracies[CAS]
    table.add_row("CAS: trained on generated only, tested on real", _mean_sd(cas), _per_seed(cas))
    return table


def _mean_sd(values: list[float]) -> str:
    mean, sd = mean_sd(values)
    return f"{mean:.4f}" if sd is None else f"{mean:.4f} ± {sd:.4f} (sd)"


def _per_seed(values: list[float], signed: bool = False) -> str:
    return ", ".join(f"{value:+.4f}" if signed else f"{value:.4f}" for value in values)
