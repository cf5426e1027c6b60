"""The ``ganbench`` command line (click). Options of ``run`` are generated from the config's fields."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ganbench.config import DEFAULTS, EVAL_SETTINGS, FIELDS, OPTION_FIELDS, RUN_CHECKPOINTS
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registry import HOOKS, default_registry, plural, spec_details
from ganbench.tuning.settings import BUDGET_NAMES, PRUNERS, SAMPLERS, SETTING_NAMES, SearchSettings, parse_duration

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)
EXIT_INTERRUPTED = 130


def _flag(name: str) -> str:
    singular = name[:-1] if name in OPTION_FIELDS else name  # --model-option KEY=VALUE, repeatable
    return "--" + singular.replace("_", "-")


def _parse_pairs(field_name: str, pairs: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"{_flag(field_name)} {pair!r} is invalid: write KEY=VALUE, e.g. {_flag(field_name)} width=32."
            )
        parsed[key.strip()] = value.strip()
    return parsed


def _run_flags(values: dict[str, Any]) -> dict[str, Any]:
    """The run settings the user gave on the command line, option tables parsed from KEY=VALUE."""
    flags = {name: value for name, value in values.items() if value not in (None, ())}
    for name in OPTION_FIELDS:
        if name in flags:
            flags[name] = _parse_pairs(name, flags[name])
    return flags


def config_options(command: Callable[..., Any], names: tuple[str, ...] = tuple(FIELDS)) -> Callable[..., Any]:
    """One click option per config field of ``names``; defaults stay None so only given flags form the CLI layer."""
    defaults = DEFAULTS
    for name in reversed(names):
        spec = FIELDS[name]
        default = getattr(defaults, name)
        help_text = spec.metadata["help"]
        if name in OPTION_FIELDS:
            option = click.option(_flag(name), name, multiple=True, metavar="KEY=VALUE", help=help_text)
        elif isinstance(default, bool):
            flag = _flag(name)
            option = click.option(
                f"{flag}/--no-{flag[2:]}", name, default=None, help=f"{help_text} [default: {default}]"
            )
        else:
            kind = {int: int, float: float}.get(type(default), str)
            shown = ",".join(default) if isinstance(default, list) else default
            option = click.option(
                _flag(name),
                name,
                type=kind,
                default=None,
                help=f"{help_text} [default: {shown}]" if shown is not None else help_text,
            )
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="ganbench")
@click.pass_context
def cli(context: click.Context) -> None:
    """ganbench: train, evaluate and compare GANs under one protocol."""
    if context.invoked_subcommand not in (None, "run") and os.environ.get("WORLD_SIZE", "1") != "1":
        raise ConfigError(
            f"ganbench {context.invoked_subcommand} runs in one process; only `ganbench run` trains data-parallel "
            "under torchrun. Start it without torchrun."
        )


@cli.command()
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="TOML or YAML file of settings; flags override it."
)
@click.option("--resume", metavar="RUN_ID|CHECKPOINT", help="Continue a run (same MLflow run, same step count).")
@config_options
def run(config_file: Path | None, resume: str | None, **values: Any) -> None:
    """Train a GAN, evaluating it every --eval-every steps, and track it in MLflow.

    \b
    Examples:
      ganbench run                                     # dcgan on the embedded shapes dataset
      ganbench run --model cdcgan --steps 2000 --eval-every 500 --seed 1
      ganbench run --model dcgan --dataset mnist --data-dir ../shared/data
      ganbench run --config my_run.toml --lr-g 1e-4
      ganbench run --resume <run id or checkpoint path>
    """
    from ganbench import api  # MLflow loads slowly: only for commands that track
    from ganbench.distributed import from_environment, leave
    from ganbench.training.summary import print_summary

    try:
        result = api.train(
            _run_flags(values),
            config_file=config_file,
            resume=resume,
            console=console,
            registry=default_registry(),
            given_as="command line",
        )
    finally:
        leave()
    outcome = result.outcome
    if from_environment().is_main:
        print_summary(outcome, console)
    if outcome.status == "KILLED":
        sys.exit(EXIT_INTERRUPTED)


def search_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a search's budget and strategy, shared by ``search`` and ``compare``."""
    options = [
        click.option("--metric", default="fid", show_default=True, help="Metric to optimise (`ganbench plugins`)."),
        click.option(
            "--trials", type=int, default=20, show_default=True, help="Finished trials (complete, pruned or failed)."
        ),
        click.option("--timeout", metavar="DURATION", help="Start no trial after this long, e.g. 30m or 8h."),
        click.option(
            "--sampler", type=click.Choice(SAMPLERS), default="tpe", show_default=True, help="Seeded by --seed."
        ),
        click.option(
            "--pruner", type=click.Choice(PRUNERS), default="median", show_default=True, help="Stops hopeless trials."
        ),
        click.option(
            "--storage", metavar="URL", help="Optuna storage (SQLAlchemy URL) [default: RESULTS_DIR/optuna.db]."
        ),
        click.option(
            "--space",
            "space_file",
            type=click.Path(path_type=Path),
            help="TOML or YAML file with a [space] table of ranges and fixed values.",
        ),
        click.option(
            "--stale-after",
            type=int,
            default=SearchSettings.stale_after,
            show_default=True,
            help="Seconds without a heartbeat after which a running trial counts as dead (and is retried once).",
        ),
        click.option(
            "--confirm-seeds",
            type=int,
            default=0,
            show_default=True,
            help="Once the budget is spent, train the best trial's settings again with N new seeds "
            "(the leaderboard's mean, interval and tiers use them; 4+ can tell models apart).",
        ),
        click.option(
            "--config", "config_file", type=click.Path(path_type=Path), help="TOML or YAML file of run settings."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _split_search_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Click's values as (search settings, run flags, the space and config files)."""
    settings = {name: values.pop(name) for name in SETTING_NAMES if name in values}
    if settings.get("timeout"):
        settings["timeout"] = parse_duration(settings["timeout"])
    files = {"space_file": values.pop("space_file"), "config_file": values.pop("config_file")}
    return settings, _run_flags(values), files


def _start(flags: dict[str, Any], settings: dict[str, Any], files: dict[str, Any]) -> Any:
    from ganbench import api

    return api.search(flags, config_file=files["config_file"], space=files["space_file"], console=console, **settings)


@cli.command()
@click.option("--study", help="Study name [default: MODEL-DATASET-METRIC].")
@click.option("--resume", is_flag=True, help="Continue study --study with its settings; the budget may change.")
@search_options
@config_options
def search(resume: bool, **values: Any) -> None:
    """Search a model's hyperparameters with Optuna; every trial is a tracked run.

    \b
    Examples:
      ganbench search --model dcgan --dataset shapes --trials 20 --metric proxy-fid --steps 500
      ganbench search --model wgan-gp --dataset cifar10 --trials 50 --timeout 8h
      ganbench search --study dcgan-shapes-proxy-fid --resume        # after a crash or Ctrl-C
    """
    from ganbench import api

    context = click.get_current_context()
    given = {name for name in values if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    settings, flags, files = _split_search_values(values)
    if resume:
        if not settings["study"]:
            raise ConfigError("--resume needs the study's name: pass --study NAME (`ganbench search` printed it).")
        fixed = sorted(given - {"study", "storage", "results_dir", *BUDGET_NAMES})
        if fixed:
            named = ", --".join(name.replace("_", "-") for name in fixed)
            raise ConfigError(
                "A resumed search keeps the settings it was started with; only --trials, --timeout, "
                f"--stale-after and --confirm-seeds may change (got --{named}). "
                "Start a new study (another --study) to change the others."
            )
        budget = {name: settings[name] for name in BUDGET_NAMES if name in given}
        results_dir = flags.get("results_dir", "results")
        outcome = api.search(
            study=settings["study"],
            storage=settings["storage"],
            resume=True,
            results_dir=results_dir,
            console=console,
            registry=default_registry(),
            **budget,
        )
    else:
        outcome = _start(flags, settings, files)
    _print_search(outcome)
    if outcome.interrupted:
        console.print(f"Interrupted. Continue with: ganbench search --study {outcome.study} --resume")
        sys.exit(EXIT_INTERRUPTED)


@cli.command()
@click.option("--models", required=True, help="Comma-separated models, each searched with the same budget.")
@search_options
@config_options
def compare(models: str, **values: Any) -> None:
    """One search per model under the same budget (trials, timeout, steps per trial), then their leaderboard
    with tiers and budget curves, also written to RESULTS_DIR/comparisons/.

    \b
    Example:
      ganbench compare --models dcgan,wgan-gp,sngan --dataset shapes --metric proxy-fid --trials 10 --steps 500 \\
          --confirm-seeds 4
    """
    settings, flags, files = _split_search_values(values)
    if "model" in flags:
        raise ConfigError("compare takes --models (comma-separated), not --model.")
    names = [name.strip() for name in models.split(",") if name.strip()]
    registry = default_registry()
    for name in names:
        registry.get("model", name)  # an unknown name fails before any search starts
    for name in names:
        outcome = _start({**flags, "model": name}, settings, files)
        _print_search(outcome)
        if outcome.interrupted:
            sys.exit(EXIT_INTERRUPTED)
    import shlex

    from ganbench import api
    from ganbench.filesystem import file_name
    from ganbench.tracking.leaderboard import print_leaderboards

    boards = api.leaderboard(
        outcome.experiment, metric=outcome.metric, tracking_uri=outcome.tracking_uri, registry=registry
    )
    print_leaderboards(boards, console)
    name = file_name(f"{outcome.experiment}-{outcome.metric}")
    folder = Path(flags.get("results_dir", "results")) / "comparisons"
    written = boards.export(folder / f"{name}.md", shlex.join(["ganbench", *sys.argv[1:]]))
    console.print(f"wrote {', '.join(map(str, written))}", markup=False)


def _print_search(outcome: Any) -> None:
    from ganbench.tracking.runs import ui_command
    from ganbench.tuning.study import summary_rows

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in summary_rows(outcome):
        table.add_row(label, Text(value))  # Text: a protocol's "cifar10[classes=cat,dog]" is no markup
    table.add_row("MLflow UI", ui_command(outcome.tracking_uri))
    console.print(table)


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="Also show each component's options and paper defaults.")
def plugins(verbose: bool) -> None:
    """List every model, dataset, loss, regularizer, feature extractor and metric, and where it comes from."""
    registry = default_registry()
    for kind in HOOKS:
        table = Table(title=plural(kind), title_justify="left", title_style="bold", show_lines=False)
        table.add_column("name", style="cyan", no_wrap=True)
        table.add_column("description", overflow="fold")
        table.add_column("from", style="dim", overflow="fold")
        for name, entry in sorted(registry.entries(kind).items()):
            description = entry.spec.description
            if verbose:
                description += "".join(f"\n  {key}: {value}" for key, value in spec_details(entry.spec).items())
            table.add_row(name, description, entry.source)
        console.print(table)


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--results-dir and --tracking-uri: which MLflow store to read."""
    command = click.option(
        "--tracking-uri", help="MLflow tracking URI [default: MLFLOW_TRACKING_URI, else SQLite under --results-dir]."
    )(command)
    return click.option("--results-dir", default="results", show_default=True, help="Home of the MLflow store.")(
        command
    )


@cli.command()
@click.option("--dataset", help="MLflow experiment to rank (the dataset's name) [default: every one with runs].")
@click.option("--metric", default="fid", show_default=True, help="Metric to rank by (see `ganbench plugins`).")
@click.option(
    "--export", type=click.Path(path_type=Path), help="Also write the tables to PATH with .md and .csv suffixes."
)
@store_options
def leaderboard(
    dataset: str | None, metric: str, export: Path | None, results_dir: str, tracking_uri: str | None
) -> None:
    """Rank each dataset's runs by a metric: one row per model and loss, one table per protocol.

    \b
    Examples:
      ganbench leaderboard
      ganbench leaderboard --dataset cifar10 --metric fid --export results/cifar10.md
    """
    import shlex

    from ganbench import api
    from ganbench.tracking.leaderboard import no_runs_message, print_leaderboards
    from ganbench.tracking.runs import default_tracking_uri

    uri = tracking_uri or default_tracking_uri(Path(results_dir))
    boards = api.leaderboard(dataset, metric=metric, tracking_uri=uri, registry=default_registry())
    if not any(board.rankings for board in boards):
        console.print(no_runs_message(boards, metric, uri), markup=False)
        return
    print_leaderboards(boards, console)
    if export:
        written = boards.export(export, shlex.join(["ganbench", *sys.argv[1:]]))
        console.print(f"wrote {', '.join(map(str, written))}", markup=False)


@cli.command()
@click.option("--dataset", help="MLflow experiment to report (the dataset's name) [default: every one with runs].")
@click.option("--metric", default="fid", show_default=True, help="Metric to rank by (see `ganbench plugins`).")
@click.option("--models", help="Comma-separated models to report [default: every model with runs].")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder of the report [default: RESULTS_DIR/reports/DATASET-METRIC]."
)
@store_options
def report(
    dataset: str | None,
    metric: str,
    models: str | None,
    out: Path | None,
    results_dir: str,
    tracking_uri: str | None,
) -> None:
    """Write report.html (self-contained: images inlined, opens offline) and report.md: the leaderboard with its
    intervals, tiers and budget curves, training curves, samples, protocol, settings, environment, commands.

    \b
    Example:
      ganbench report --dataset shapes --metric proxy-fid --models dcgan,wgan-gp --out results/reports/shapes
    """
    import shlex

    from ganbench import api

    names = [name.strip() for name in (models or "").split(",") if name.strip()]
    written = api.report(
        dataset,
        metric=metric,
        models=names,
        out=out,
        results_dir=results_dir,
        tracking_uri=tracking_uri,
        registry=default_registry(),
        command=shlex.join(["ganbench", *sys.argv[1:]]),
    )
    console.print(f"wrote {written.html} and {written.markdown}, with {len(written.figures)} pictures", markup=False)


@cli.command()
@click.option("--port", default=5000, show_default=True, help="Port of the UI on 127.0.0.1.")
@store_options
def ui(port: int, results_dir: str, tracking_uri: str | None) -> None:
    """Start the MLflow UI on the project's store, on localhost (Ctrl-C stops it)."""
    from ganbench.tracking.runs import default_tracking_uri
    from ganbench.tracking.ui import serve

    status = serve(tracking_uri or default_tracking_uri(Path(results_dir)), port, console)
    if status:
        sys.exit(status)


def eval_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """The run settings that shape an evaluation, as ``run`` spells them."""
    return config_options(command, EVAL_SETTINGS)


@cli.group()
def stats() -> None:
    """Reference statistics as files that pytorch-fid and clean-fid read (mu and sigma in an .npz)."""


# what shapes the reference side of an evaluation, without what concerns the generated images
REFERENCE_SETTINGS = tuple(
    name for name in EVAL_SETTINGS if name not in ("seed", "metrics", "eval_samples", "reference_stats", "tracking_uri")
)


@stats.command(name="export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metric", default="fid", show_default=True, help="Export the features this metric compares.")
@functools.partial(config_options, names=REFERENCE_SETTINGS)
def export_stats(out: Path, metric: str, **values: Any) -> None:
    """Write the reference statistics of --dataset's --reference-split to OUT (.npz): the mean and covariance
    of --metric's features of --reference-samples images (0: all), resized as --resize says. Others score
    against the file with --reference-stats OUT; what it was computed from is in its `ganbench` entry.

    \b
    Examples:
      ganbench stats export cifar10-test.npz --dataset cifar10 --data-dir ~/data --reference-split test \\
          --reference-samples 0
      ganbench eval <run id> --reference-stats cifar10-test.npz --metrics fid,fd-inf --eval-samples 10000
    """
    from ganbench import api

    written = api.export_statistics(
        out, metric=metric, console=console, registry=default_registry(), **_run_flags(values)
    )
    console.print(f"wrote {out}: {written.identity}, {written.dimension} features", markup=False)


@cli.command(name="eval")
@click.argument("source")
@click.option(
    "--checkpoint",
    type=click.Choice(RUN_CHECKPOINTS),
    default="last",
    show_default=True,
    help="Of a run id SOURCE, which checkpoint: last (as the run ended) or best (its best evaluation by --monitor).",
)
@click.option(
    "--augment",
    is_flag=True,
    help="Also train ResNet-18 classifiers on real, real+generated and generated-only images and test them on "
    "the real test split (needs images of known classes: a class-conditional model, or class subfolders).",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="--augment: classifier seeds, from --seed on.")
@click.option(
    "--classifier-steps", type=int, default=500, show_default=True, help="--augment: training steps of each classifier."
)
@click.option(
    "--classifier-batch-size", type=int, default=64, show_default=True, help="--augment: images per classifier step."
)
@click.option(
    "--real-fraction",
    type=float,
    default=1.0,
    show_default=True,
    help="--augment: share of the train split the real arms train on, drawn at random by each seed.",
)
@click.option(
    "--synthetic-ratio",
    type=float,
    default=1.0,
    show_default=True,
    help="--augment: generated images added per real one, in equal numbers per class.",
)
@click.option(
    "--test-samples",
    type=int,
    default=0,
    show_default=True,
    help="--augment: test images, a fixed draw from the test split (0: all of it).",
)
@eval_settings
def evaluate(
    source: str,
    checkpoint: str,
    augment: bool,
    seeds: int,
    classifier_steps: int,
    classifier_batch_size: int,
    real_fraction: float,
    synthetic_ratio: float,
    test_samples: int,
    **values: Any,
) -> None:
    """Score SOURCE against a dataset: a checkpoint file, the MLflow run id of a run, or a folder of images.

    A checkpoint is scored as its run evaluated it (with the EMA generator if the run kept one), on its
    dataset, resolution and settings: every option defaults to the run's own (the defaults shown are
    ganbench's, which a folder starts from). A folder (searched recursively) needs --dataset; its images
    are converted to the dataset's channels and resized to --resolution, all of them are scored (or
    --eval-samples, if fewer), and subfolders named after the dataset's classes give them labels. The
    values, their protocols and settings are written to RESULTS_DIR/eval/.

    
    Examples:
      ganbench eval results/runs/<run id>/checkpoints/last.pt
      ganbench eval <run id> --metrics proxy-fid,proxy-acc --eval-samples 10000
      ganbench eval <run id> --checkpoint best --eval-samples 10000
      ganbench eval ~/samples --dataset mnist --data-dir ../shared/data --metrics fid,kid
      ganbench eval <run id of a conditional model> --augment --real-fraction 0.01 --seeds 5
    """
    from ganbench import api
    from ganbench.scoring.downstream import Budget
    from ganbench.scoring.score import print_scored

    budget = (
        Budget(classifier_steps, classifier_batch_size, seeds, real_fraction, synthetic_ratio, test_samples)
        if augment
        else None
    )
    result = api.evaluate(
        source,
        checkpoint=checkpoint,
        augment=budget,
        console=console,
        registry=default_registry(),
        **_run_flags(values),
    )
    print_scored(result.scored, console)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("Aborted.")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GanbenchError as exc:
        errors.print(f"[bold red]Error:[/] {exc}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        errors.print("Interrupted.")
        sys.exit(EXIT_INTERRUPTED)
