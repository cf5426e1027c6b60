"""TPE with median pruning against random search without pruning, under one wall-clock budget.

Each strategy searches the same model on `shapes` for the same number of seconds, once per
seed, with the proxy metric (a CNN trained on `shapes`, cached before any search starts so
no strategy pays for it). For every seed the table gives each strategy's best value, and the
compute each needed to reach the value both reached (the worse of the two bests): the ratio
random / TPE is how many times more compute random search needs for the same result.

The answer comes with its uncertainty (ganbench.statistics): whether the two strategies' best
values over the seeds can be told apart (exact Mann–Whitney; 4+ seeds are needed to reach
p < 0.05), P(a TPE search ends better than a random one) with a bootstrap interval, and a
bootstrap interval of the geometric-mean compute ratio.

    .venv/bin/python benchmarks/search.py --budget 240 --seeds 6          # ~50 minutes on 2 idle CPU cores
    .venv/bin/python benchmarks/search.py --budget 60 --seeds 1 --steps 100

Written to results/benchmarks/search.{md,csv}.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.table import Table
from scipy import stats

import ganbench
from ganbench.statistics import RESAMPLING_SEED, compare_pair, summarize_seeds

STRATEGIES = {"tpe + median pruning": ("tpe", "median"), "random, no pruning": ("random", "none")}
COLUMNS = ["seed", "strategy", "trials", "pruned", "best", "seconds to common best"]


@dataclass
class Trace:
    """A search's best value so far after each finished trial, against seconds since it started."""

    points: list[tuple[float, float]]
    trials: int
    pruned: int

    @property
    def best(self) -> float:
        return self.points[-1][1] if self.points else float("inf")

    def seconds_to(self, target: float) -> float | None:
        return next((seconds for seconds, best in self.points if best <= target), None)


def trace(study: optuna.Study) -> Trace:
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.datetime_start)
    start = trials[0].datetime_start
    points, best = [], float("inf")
    for trial in trials:
        if trial.state == TrialState.COMPLETE and trial.value is not None and trial.value < best:
            best = trial.value
            points.append(((trial.datetime_complete - start).total_seconds(), best))
    return Trace(points, len(trials), sum(t.state == TrialState.PRUNED for t in trials))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--budget", type=float, default=300, help="seconds per search")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300, help="generator steps per trial")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--samples", type=int, default=500, help="generated and reference images per evaluation")
    parser.add_argument("--out", default="results/benchmarks/search")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as results_dir:
        flags = {
            "model": args.model,
            "dataset": "shapes",
            "steps": args.steps,
            "eval_every": args.eval_every,
            "eval_samples": args.samples,
            "reference_samples": args.samples,
            "model_options": {"width": args.width},
            "results_dir": results_dir,
        }
        # the proxy classifier and the reference features, cached before any search is timed
        ganbench.train(flags, steps=1, metrics=["proxy-fid"], quiet=True)
        for seed in range(args.seeds):
            traces = {}
            for label, (sampler, pruner) in STRATEGIES.items():
                Console().print(f"seed {seed}: {label} for {args.budget:.0f} s")
                outcome = ganbench.search(
                    {**flags, "seed": seed},
                    metric="proxy-fid",
                    trials=10_000,
                    timeout=args.budget,
                    sampler=sampler,
                    pruner=pruner,
                    study=f"{sampler}-{pruner}-{seed}",
                    quiet=True,
                )
                storage = outcome.storage
                traces[label] = trace(optuna.load_study(study_name=outcome.study, storage=storage))
            common = max(t.best for t in traces.values())  # the best value every strategy reached
            for label, result in traces.items():
                reached = result.seconds_to(common)
                rows.append(
                    {
                        "seed": seed,
                        "strategy": label,
                        "trials": result.trials,
                        "pruned": result.pruned,
                        "best": round(result.best, 3),
                        "seconds to common best": round(reached, 1) if reached is not None else "not reached",
                    }
                )
    write(rows, Path(args.out), args)


def ratios(rows: list[dict]) -> list[float]:
    """Per seed: seconds random search needed for the common best / seconds TPE needed."""
    tpe, rand = (list(STRATEGIES)[0], list(STRATEGIES)[1])
    found = []
    for seed in sorted({row["seed"] for row in rows}):
        times = {row["strategy"]: row["seconds to common best"] for row in rows if row["seed"] == seed}
        if all(isinstance(times[s], float) and times[s] > 0 for s in (tpe, rand)):
            found.append(times[rand] / times[tpe])
    return found


def ratio_summary(found: list[float]) -> str:
    if not found:
        return "No seed where both strategies reached the common best after their first trial: no ratio."
    mean = statistics.geometric_mean(found)
    text = f"Compute random search needs for TPE's result, as a multiple of TPE's: {mean:.2f} (geometric mean"
    if len(found) < 2:
        return f"{text} of 1 seed; an interval needs 2 or more)."
    logs = np.log(found)
    boot = stats.bootstrap((logs,), np.mean, method="percentile", rng=np.random.default_rng(RESAMPLING_SEED))
    low, high = np.exp(boot.confidence_interval.low), np.exp(boot.confidence_interval.high)
    return f"{text} over {len(found)} seeds, 95% bootstrap interval [{low:.2f}, {high:.2f}])."


def best_summary(rows: list[dict], budget: float) -> str:
    """Whether the strategies' best values after the budget differ, over the seeds."""
    tpe, rand = STRATEGIES
    bests = {label: [row["best"] for row in rows if row["strategy"] == label] for label in STRATEGIES}
    pair = compare_pair(tpe, bests[tpe], rand, bests[rand], higher=False)
    spread = {label: summarize_seeds(values) for label, values in bests.items()}
    shown = "; ".join(
        f"{label} {found.mean:.4g}" + (f" ± {found.sd:.2g}" if found.sd is not None else "")
        for label, found in spread.items()
    )
    interval = f" {pair.interval.text(2, 'f')}" if pair.interval else ""
    return (
        f"Best proxy-fid after {budget:.0f} s (mean ± sd over seeds): {shown}. {pair.why}. "
        f"P(a TPE search ends better than a random one) = {pair.first_wins:.2f}{interval}."
    )


def write(rows: list[dict], out: Path, args: argparse.Namespace) -> None:
    title = (
        f"{args.model} on shapes (width {args.width}), {args.steps} steps per trial, proxy-fid "
        f"({args.samples} vs {args.samples}), {args.budget:.0f} s per search"
    )
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in COLUMNS))
    console = Console()
    console.print(table)
    summary = "\n\n".join([ratio_summary(ratios(rows)), best_summary(rows, args.budget)])
    console.print(summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    out.with_suffix(".md").write_text("\n".join([*lines, "", summary, ""]))


if __name__ == "__main__":
    main()
