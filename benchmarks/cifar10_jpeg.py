"""The cifar10-jpeg leaderboard: the CPU recipes, several seeds each, one protocol, resumable across sessions.

Trains every recipe of ``recipes/cpu`` named by --models with every seed of --seeds, and each
recipe of --conditional with the first seed; every run evaluates once, at its end (FID and KID
of 5,000 generated images against the copy's 10,000 test images; conditional models also
proxy-acc and proxy-diversity). Measures the floor too: FID and KID of 10,000 train images of
the copy against its test images.

Each finished run leaves a record, OUT/runs/<recipe>-cpu-s<seed>.json (its values, protocols,
time and machine), and the floor OUT/floor.json; the tables OUT.md and OUT.csv and each model's
sample grid in OUT/ are rewritten from the records after each piece of work. The records are
meant to be committed: a job resumed on a fresh machine, with an empty MLflow store, skips every
run that has a record (or a finished run in the store under --results-dir), so a leaderboard
larger than one session's time is built over several. A run that a killed job left RUNNING in
the store is marked FAILED when a job starts, and run anew. ``--report-only`` rewrites OUT from
the records and runs nothing.

    .venv/bin/python benchmarks/cifar10_jpeg.py --results-dir /work/ganbench-board
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import torch
import yaml
from mlflow.tracking import MlflowClient
from rich.console import Console

import ganbench
from ganbench.config import read_config_file
from ganbench.registry import default_registry
from ganbench.tracking.leaderboard import Leaderboard, ScoredRun, higher_is_better, rank, scored_run, to_markdown
from ganbench.tracking.runs import default_tracking_uri

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes" / "cpu"
EXPERIMENT = "imagefolder:cifar10-jpeg"
RANKED_METRICS = ("fid", "kid")
FLOOR_SAMPLES = 10_000
CHANCE = 0.1  # ten classes
CSV_COLUMNS = ["model", "seed", "run_id", "fid", "kid", "proxy_acc", "proxy_diversity", "minutes", "finished"]
PUBLISHED_FLOOR = "3.15 (the original CIFAR-10's 50k train vs 10k test images)"


def run_name(recipe: str, seed: int) -> str:
    return f"{recipe}-cpu-s{seed}"


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def _runs(tracking_uri: str, status: str) -> list:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    return [r for r in client.search_runs([experiment.experiment_id], max_results=1000) if r.info.status == status]


def finished_runs(tracking_uri: str) -> dict[str, object]:
    """Run name -> the finished run of the experiment."""
    return {found.info.run_name: found for found in _runs(tracking_uri, "FINISHED")}


def fail_leftovers(tracking_uri: str) -> None:
    """Mark FAILED the runs an earlier, killed job left RUNNING (call it only with no other job running)."""
    client = MlflowClient(tracking_uri)
    for found in _runs(tracking_uri, "RUNNING"):
        client.set_tag(found.info.run_id, "ganbench.error", "the leaderboard job was killed during this run")
        client.set_terminated(found.info.run_id, "FAILED")


def recipe_is_conditional(recipe: str) -> bool:
    """Whether the recipe builds a class-conditional model: its model can be, and its options keep it so."""
    settings = read_config_file(RECIPES / f"{recipe}.toml")
    spec = default_registry().get("model", str(settings["model"]))
    return spec.builds_conditional(settings.get("model_options", {}))


def train(recipe: str, seed: int, data_dir: str, results_dir: str, overrides: dict[str, object]) -> None:
    ganbench.train(
        config_file=RECIPES / f"{recipe}.toml",
        seed=seed,
        run_name=run_name(recipe, seed),
        data_dir=data_dir,
        results_dir=results_dir,
        console=Console(stderr=True),
        **overrides,
    )


# ---------------------------------------------------------------------------- records


def load_records(out: Path) -> dict[str, dict]:
    """Run name -> its record, from OUT/runs."""
    return {path.stem: json.loads(path.read_text()) for path in sorted((out / "runs").glob("*.json"))}


def write_record(out: Path, tracking_uri: str, recipe: str, seed: int, overrides: dict[str, str]) -> dict:
    """The record of a finished run: what the tables need, so that they outlive the MLflow store."""
    client, registry = MlflowClient(tracking_uri), default_registry()
    found = finished_runs(tracking_uri)[run_name(recipe, seed)]
    ranked = {}
    for metric in RANKED_METRICS:
        scored = scored_run(client, found, metric, higher_is_better(registry, metric))
        if isinstance(scored, ScoredRun):
            ranked[metric] = {k: v for k, v in dataclasses.asdict(scored).items() if k != "configuration"}
    info = found.info
    record = {
        "run_name": run_name(recipe, seed),
        "recipe": recipe,
        "seed": seed,
        "settings": overrides,
        "ranked": ranked,
        "metrics": found.data.metrics,
        "minutes": round((info.end_time - info.start_time) / 60000, 1),
        "finished": datetime.fromtimestamp(info.end_time / 1000).astimezone().isoformat(timespec="minutes"),
        "machine": machine(),
        "commit": commit(),
    }
    path = out / "runs" / f"{record['run_name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    grids = sorted((Path(found.data.tags["ganbench.checkpoint"]).parents[1] / "samples").glob("step_*.png"))
    if grids and not (out / f"{recipe}.png").exists():  # the first seed run's grid stands for the model
        shutil.copyfile(grids[-1], out / f"{recipe}.png")
    return record


def scored(record: dict, metric: str) -> ScoredRun | None:
    """The record's run as the leaderboard ranks it; repeats of a recipe share its configuration."""
    fields = record["ranked"].get(metric)
    if fields is None:
        return None
    configuration = frozenset({("recipe", record["recipe"]), *record["settings"].items()})
    return ScoredRun(**fields, configuration=configuration)


def measure_floor(data_dir: str, results_dir: str, record: Path) -> dict:
    """FID and KID of FLOOR_SAMPLES train images of the copy against its whole test split."""
    flags = {
        "dataset": "imagefolder",
        "data_dir": data_dir,
        "results_dir": results_dir,
        "reference_split": "test",
        "reference_samples": 0,
        "eval_samples": FLOOR_SAMPLES,
        "metrics": list(RANKED_METRICS),
    }
    start = time.perf_counter()
    measured = ganbench.evaluate(Path(data_dir) / "train", console=Console(stderr=True), **flags)
    floor = {
        result.metric: {"values": result.values, "protocol": result.protocol.describe() if result.protocol else ""}
        for result in measured.results
    }
    floor["seconds"] = round(time.perf_counter() - start)
    floor["machine"] = machine()
    record.write_text(json.dumps(floor, indent=2) + "\n")
    return floor


# ---------------------------------------------------------------------------- report


def conditional_rows(records: dict, recipes: list[str], seed: int) -> list[str]:
    rows = []
    for recipe in recipes:
        record = records.get(run_name(recipe, seed))
        if record is None:
            rows.append(f"| {recipe} | not run yet | | | |")
            continue
        metrics = record["metrics"]
        rows.append(
            f"| {recipe} | {metrics.get('proxy_acc', float('nan')):.3f} | {CHANCE} | "
            f"{metrics.get('proxy_acc_real', float('nan')):.3f} | {metrics.get('proxy_diversity', float('nan')):.3f} |"
        )
    return rows


def leaderboards(records: dict) -> list[Leaderboard]:
    registry = default_registry()
    boards = []
    for metric in RANKED_METRICS:
        higher = higher_is_better(registry, metric)
        runs = [found for record in records.values() if (found := scored(record, metric))]
        boards.append(Leaderboard(EXPERIMENT, metric, higher, rank(runs, higher)))
    return boards


def write_report(args: argparse.Namespace, floor: dict | None, command: str) -> None:
    out = args.out
    records = load_records(out)
    planned = [run_name(r, s) for s in args.seeds for r in args.models] + [
        run_name(r, args.seeds[0]) for r in args.conditional
    ]
    finished = [name for name in planned if name in records]
    when = datetime.now().astimezone()
    seeds = args.seeds
    conditional = [r for r in [*args.models, *args.conditional] if recipe_is_conditional(r)]
    machines = sorted({record["machine"] for record in records.values()})
    sections = [
        "# cifar10-jpeg leaderboard (the JPEG copy of CIFAR-10, not CIFAR-10)",
        "",
        f"Command: `{command}`. Written {when:%Y-%m-%d %H:%M %Z} from the run records in "
        f"`{out.name}/runs/`. Machines: {'; '.join(machines) or 'none yet'}.",
        "",
        "Budget: the CPU recipes of `recipes/cpu`, about 8 minutes of training each on 2 cores, then one "
        "evaluation at the end: FID and KID of 5,000 generated images against the copy's 10,000 test images. "
        f"Seeds {', '.join(map(str, seeds))}. The copy's images are JPEG (quality 75): these numbers compare "
        "only with numbers of the same protocol on the same copy, never with published CIFAR-10 FIDs.",
        "",
        f"Finished so far: {len(finished)} of the {len(planned)} runs planned ({', '.join(finished) or 'none'}).",
        "",
        to_markdown(leaderboards(records), command, when),
        "",
        f"## Conditional models (seed {seeds[0]}, the same budget)",
        "",
        "proxy-acc: the share of generated images that a classifier trained on the copy's train split assigns to the "
        "class asked for; real: its accuracy on the test images, which bounds what proxy-acc can show; "
        "proxy-diversity: the variety within each class, relative to the real images'.",
        "",
        "| model | proxy-acc | chance | proxy-acc of real images | proxy-diversity |",
        "|---|---|---|---|---|",
        *conditional_rows(records, conditional, seeds[0]),
        "",
    ]
    if floor:
        sections += [
            "## The floor: the copy's train images against its test images",
            "",
            f"FID {floor['fid']['values']['fid']:.2f}, KID {floor['kid']['values']['kid']:.5f} of {FLOOR_SAMPLES:,} "
            f"train images against the test images ({floor['fid']['protocol']}, where the train images stand as "
            f"the generated ones; {floor['seconds']} s): what a model that drew the training images would score. "
            f"Published for the original: FID {PUBLISHED_FLOOR}; the pixels differ (JPEG) and so does the train "
            "sample (10k, not 50k: fewer samples bias FID upwards), so the two are not comparable.",
            "",
        ]
    grids = [f"![{r}]({out.name}/{r}.png)" for r in [*args.models, *args.conditional] if (out / f"{r}.png").exists()]
    if grids:
        sections += ["## Samples (the first seed's final generator)", "", *grids, ""]
    out.with_suffix(".md").write_text("\n".join(sections))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for recipe in [*args.models, *args.conditional]:
            for seed in seeds:
                record = records.get(run_name(recipe, seed))
                if record:
                    metrics = record["metrics"]
                    writer.writerow(
                        [
                            recipe,
                            seed,
                            record["ranked"]["fid"]["run_id"],
                            *(metrics.get(k) for k in ("fid", "kid", "proxy_acc", "proxy_diversity")),
                            record["minutes"],
                            record["finished"],
                        ]
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data" / "cifar10-jpeg"))
    parser.add_argument("--results-dir", default="results", help="The MLflow store and caches of the job.")
    parser.add_argument("--models", default="dcgan,wgan-gp,sngan,sagan", help="Recipes run with every seed.")
    parser.add_argument("--conditional", default="cdcgan,acgan,cgan-pd", help="Recipes run with the first seed.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "leaderboards" / "cifar10-jpeg")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="A run setting for every run.")
    parser.add_argument("--no-floor", action="store_true", help="Do not measure the train-vs-test floor.")
    parser.add_argument("--report-only", action="store_true", help="Rewrite OUT from the records; run nothing.")
    args = parser.parse_args()
    # "steps=100" -> 100, "model_options={width: 16}" -> a table: the values a config file would hold
    overrides = {key: yaml.safe_load(value) for key, value in (pair.split("=", 1) for pair in args.set)}
    args.models, args.conditional = args.models.split(","), [m for m in args.conditional.split(",") if m]
    args.seeds = [int(seed) for seed in args.seeds.split(",")]
    # the command that reproduces the table: the job's, not the one that only rewrote it
    command = shlex.join(["python", "benchmarks/cifar10_jpeg.py", *(a for a in sys.argv[1:] if a != "--report-only")])
    tracking_uri = default_tracking_uri(Path(args.results_dir))
    floor_record = args.out / "floor.json"
    floor = json.loads(floor_record.read_text()) if floor_record.is_file() else None
    plan = [(recipe, seed) for seed in args.seeds for recipe in args.models]
    if not args.no_floor:  # after the first seed's runs, which cache the test images' features
        plan[len(args.models) : len(args.models)] = [("floor", -1)]
    plan += [(recipe, args.seeds[0]) for recipe in args.conditional]
    if not args.report_only:
        fail_leftovers(tracking_uri)
        args.out.mkdir(parents=True, exist_ok=True)
    for recipe, seed in [] if args.report_only else plan:
        if recipe == "floor":
            if floor is None:
                floor = measure_floor(args.data_dir, args.results_dir, floor_record)
        elif run_name(recipe, seed) not in load_records(args.out):
            if run_name(recipe, seed) not in finished_runs(tracking_uri):
                train(recipe, seed, args.data_dir, args.results_dir, overrides)
            write_record(args.out, tracking_uri, recipe, seed, overrides)
        write_report(args, floor, command)
    if args.report_only:
        write_report(args, floor, command)
    print(args.out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
