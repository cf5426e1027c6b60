"""The ``ganbench`` command line (click). Options of ``run`` are generated from the config's fields."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ganbench.config import DEFAULTS, FIELDS, OPTION_FIELDS, read_config_file
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registry import HOOKS, default_registry, plural

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


def config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One click option per config field; every default stays None so only given flags form the CLI layer."""
    defaults = DEFAULTS
    for name, spec in reversed(FIELDS.items()):
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
def cli() -> None:
    """ganbench: train, evaluate and compare GANs under one protocol."""


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
    from ganbench.runner import run as run_training  # MLflow loads slowly: only for commands that track
    from ganbench.summary import print_summary

    flags = {name: value for name, value in values.items() if value not in (None, ())}
    for name in OPTION_FIELDS:
        if name in flags:
            flags[name] = _parse_pairs(name, flags[name])
    file_values = read_config_file(config_file) if config_file else {}
    outcome = run_training(default_registry(), flags, file_values, resume, console)
    print_summary(outcome, console)
    if outcome.status == "KILLED":
        sys.exit(EXIT_INTERRUPTED)


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
                details = {
                    key: getattr(entry.spec, key)
                    for key in ("conditional", "options", "defaults", "resolutions", "citation")
                    if getattr(entry.spec, key, None)
                }
                if getattr(entry.spec, "search_space", None):
                    details["searches"] = ", ".join(entry.spec.search_space)
                description += "".join(f"\n  {key}: {value}" for key, value in details.items())
            table.add_row(name, description, entry.source)
        console.print(table)


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
