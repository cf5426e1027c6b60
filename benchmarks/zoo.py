"""Every registered model trained the same way on `shapes`: speed, memory and quality.

Each model trains with its paper defaults (loss, regularizers, optimizer, n_disc) for the
same number of generator steps, in a process of its own so that its peak memory is its
own, and is evaluated at the end with the proxy classifier (proxy-FID/KID, and for
class-conditional models the accuracy of its samples on the class they were asked for).
The table goes to the console and to ``results/benchmarks/zoo.md`` (and ``.csv``).

    .venv/bin/python benchmarks/zoo.py --steps 300 --width 32      # CPU: every model at width 32
    .venv/bin/python benchmarks/zoo.py --models dcgan,sngan --steps 100 --resolution 64
    .venv/bin/python benchmarks/zoo.py --models cdcgan,acgan --reg mode-seeking --out results/benchmarks/conditional

``--reg`` adds regularizers to every model's own (a paper's ``gp`` stays); ``--ema-decay``
evaluates an average of G's weights (from step ``--ema-start``). proxy-diversity (the
variety of a conditional model's images within each class over the real images') falls
towards 0 when a model draws one image per class whatever its latent.

``--model-option KEY=VALUE`` (repeatable) sets an option of every model that declares it,
e.g. ``conditioning=batchnorm`` for cDCGAN and AC-GAN; the table's ``options`` column says
which each row used.

``--width`` sets every model's ``width`` option (the paper widths, 64 for DCGANs and 128
for the ResNets, are GPU-sized: sngan at width 128 takes ~16 s per generator step on 2 CPU
cores).

Images/s counts every image the discriminator sees per second of training (n_disc real
batches per generator step), as the training engine reports it.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

import ganbench
from ganbench.registry import default_registry
from ganbench.specs import ModelSpec

METRICS = ["proxy-fid", "proxy-kid", "proxy-acc", "proxy-diversity"]
UNCONDITIONAL = "n/a (unconditional)"
COLUMNS = [
    "model",
    "options",
    "conditional",
    "loss",
    "reg",
    "n_disc",
    "images/s",
    "peak MB",
    "proxy-FID",
    "proxy-KID",
    "proxy-acc",
    "proxy-diversity",
]


def train_one(model: str, shared: dict, results_dir: str) -> dict:
    """Train ``model`` in this process with the run settings ``shared`` by every model; its row of the table."""
    registry = default_registry()
    flags = {
        **{key: value for key, value in shared.items() if key not in ("width", "model_options")},
        "reg": regularizers(registry.get("model", model), shared),
        "model_options": model_options(registry.get("model", model), shared),
        "model": model,
        "eval_every": shared["steps"],
        "metrics": METRICS,
        "eval_samples": 1000,
        "reference_samples": 1000,
        "results_dir": results_dir,
    }
    outcome = ganbench.train(flags, quiet=True, registry=registry)
    values = {r.metric: r for r in outcome.evaluations[-1].results}
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if torch.cuda.is_available()
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    acc, diversity = values["proxy-acc"], values["proxy-diversity"]
    return {
        "model": model,
        "images/s": round(outcome.images_per_second, 1),
        "peak MB": round(peak),
        "proxy-FID": _rounded(values["proxy-fid"].value, 2),
        "proxy-KID": _rounded(values["proxy-kid"].value, 4),
        "proxy-acc": _rounded(acc.value, 3) if acc.values else UNCONDITIONAL,
        "proxy-diversity": _rounded(diversity.value, 3) if diversity.values else UNCONDITIONAL,
    }


def _rounded(value: float | None, digits: int) -> float | str:
    return "not computed" if value is None else round(value, digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated (default: every registered model)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, help="every model's width option (default: each paper's)")
    parser.add_argument("--n-disc", type=int, help="every model's D steps per G step (default: each paper's)")
    parser.add_argument("--reg", help="regularizers every model adds to its paper's, comma-separated")
    parser.add_argument("--ema-decay", type=float, help="evaluate an EMA of G's weights (default: off)")
    parser.add_argument("--ema-start", type=int, help="generator steps before the EMA starts (default: 0)")
    parser.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of every model that declares it (repeatable), e.g. conditioning=batchnorm",
    )
    parser.add_argument("--out", default="results/benchmarks/zoo")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: train one model and print its row
    parser.add_argument("--results-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    shared = shared_flags(args)
    if args.one:
        print(json.dumps(train_one(args.one, shared, args.results_dir)))
        return
    registry = default_registry()
    models = args.models.split(",") if args.models else registry.names("model")
    rows = []
    with tempfile.TemporaryDirectory() as results_dir:
        for model in models:
            spec = registry.get("model", model)
            if args.resolution not in spec.resolutions:
                continue
            print(f"training {model} for {args.steps} steps...", file=sys.stderr)
            child = subprocess.run(
                [sys.executable, __file__, *sys.argv[1:], "--one", model, "--results-dir", results_dir],
                capture_output=True,
                text=True,
            )
            if child.returncode != 0:
                print(f"{model} failed:\n{child.stderr[-2000:]}", file=sys.stderr)
                continue
            defaults = spec.defaults
            rows.append(
                {
                    **json.loads(child.stdout.strip().splitlines()[-1]),
                    "conditional": spec.builds_conditional(model_options(spec, shared)),
                    "loss": defaults.get("loss", "bce"),
                    "reg": ",".join(regularizers(spec, shared)) or "-",
                    "n_disc": args.n_disc or defaults.get("n_disc", 1),
                    "options": ",".join(f"{k}={v}" for k, v in model_options(spec, shared).items() if k != "width")
                    or "-",
                }
            )
    write(rows, Path(args.out), args, shared)


def model_options(spec: ModelSpec, shared: dict) -> dict:
    """The shared width and ``--model-option`` values, of those options the model declares."""
    given = {**({"width": shared["width"]} if shared.get("width") else {}), **shared.get("model_options", {})}
    return {key: value for key, value in given.items() if key in spec.options}


def regularizers(spec: ModelSpec, shared: dict) -> list[str]:
    """The model's paper regularizers, then those every model shares."""
    paper = list(spec.defaults.get("reg", []))
    return paper + [name for name in shared.get("reg", []) if name not in paper]


def shared_flags(args: argparse.Namespace) -> dict:
    """The run settings every model trains with: those given, the others each paper's."""
    given = {
        "steps": args.steps,
        "resolution": args.resolution,
        "seed": args.seed,
        "width": args.width,
        "n_disc": args.n_disc,
        "reg": args.reg.split(",") if args.reg else None,
        "ema_decay": args.ema_decay,
        "ema_start": args.ema_start,
        "model_options": dict(parse_option(option) for option in args.model_option) or None,
    }
    return {key: value for key, value in given.items() if value is not None}


def parse_option(option: str) -> tuple[str, str]:
    key, equals, value = option.partition("=")
    if not equals or not key:
        raise SystemExit(f"--model-option {option!r} is not KEY=VALUE; e.g. --model-option conditioning=batchnorm")
    return key, value


def write(rows: list[dict], out: Path, args: argparse.Namespace, shared: dict) -> None:
    shown = {key: _shown(value) for key, value in shared.items()}
    settings = ", ".join(f"{key} {value}" for key, value in shown.items() if key not in ("steps", "seed"))
    table = Table(title=f"shapes, {args.steps} generator steps, {settings}, seed {args.seed}")
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[column]) for column in COLUMNS))
    Console().print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"| {' | '.join(COLUMNS)} |", f"|{'---|' * len(COLUMNS)}"]
    lines += [f"| {' | '.join(str(row[c]) for c in COLUMNS)} |" for row in rows]
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    command = shlex.join(["python", "benchmarks/zoo.py", *sys.argv[1:]])
    header = f"`{command}` on {device}, torch {torch.__version__}, seed {args.seed}\n\n"
    out.with_suffix(".md").write_text(header + "\n".join(lines) + "\n")


def _shown(value: object) -> object:
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return value


if __name__ == "__main__":
    main()
