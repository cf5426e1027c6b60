"""``ganbench leaderboard``: each dataset's tracked runs ranked by one metric, one table per protocol.

Runs are read through an explicit ``MlflowClient`` (no global MLflow state). A row is a
(model, loss) pair; runs whose metric was computed under different protocols are never
ranked together. A best value with caveats (the run's ``flags.<metric>`` tag) carries a
marker, explained under its table.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mlflow.entities import Experiment, Run
from mlflow.exceptions import MlflowException
from mlflow.store.entities import PagedList
from mlflow.tracking import MlflowClient
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ganbench.config import BOOKKEEPING_FIELDS
from ganbench.data.identity import REFERENCE_TAG
from ganbench.errors import ConfigError, GanbenchError, PluginError
from ganbench.registry import Registry
from ganbench.statistics import (
    BudgetCurve,
    Interval,
    PairComparison,
    Tier,
    budget_curve,
    compare_pair,
    summarize_seeds,
    tiers,
)
from ganbench.tracking.ui import KIND_TAG, REPORT_KIND, STUDY_KIND, STUDY_TAG, local_store_path, metric_keys

NOT_TRAINING = (STUDY_KIND, REPORT_KIND)  # a search's trials are ordinary runs; its parent run is not
GPU_DEVICES = ("cuda", "mps")
NO_PROTOCOL = "not recorded"
LEGACY_NOTE = (
    "These runs were logged before ganbench recorded which data a value was measured against: runs on "
    "different image folders, or on one dataset under different options, may stand side by side here. "
    "They are ranked apart from newer runs; retrain to compare."
)
UNRANKED_STATUSES = {"FAILED": "failed", "RUNNING": "still running", "SCHEDULED": "still running"}


@dataclass(frozen=True)
class ScoredRun:
    """A training run and its best value of the metric over all its evaluations."""

    run_id: str
    model: str
    loss: str
    protocol: str
    value: float
    seed: str
    hours: float
    on_gpu: bool
    configuration: frozenset[tuple[str, str]]  # the params less bookkeeping: equal for repeats
    flags: str = ""  # the caveats on the metric's values ("": none)
    legacy: bool = False  # logged before values recorded their reference data (see LEGACY_NOTE)
    study: str = ""  # the search whose trial this run is ("": not a trial)


@dataclass(frozen=True)
class Row:
    rank: int
    model: str
    loss: str
    best: float
    best_run: str
    seed_mean: float | None  # over the seeds of the best run's configuration, when there are 2 or more
    seed_std: float | None
    seeds: int
    seed_values: tuple[float, ...]  # each seed's best value, for the best run's configuration, by seed
    seed_runs: tuple[str, ...]  # the run of each of those values
    seed_labels: tuple[str, ...]  # the seed of each of those values
    seed_interval: Interval | None  # 95% Student t interval of the mean over seeds, with 2 or more
    runs: int
    gpu_hours: float
    cpu_hours: float
    flags: str = ""  # the best run's caveats
    tier: int = 1  # models of one tier cannot be told apart (see ganbench.statistics)

    @property
    def label(self) -> str:
        return self.model if self.loss in ("", "?") else f"{self.model}/{self.loss}"

    @property
    def mean_value(self) -> float:
        """The mean over seeds; with one seed, its value: what the ranking orders by."""
        return sum(self.seed_values) / len(self.seed_values)


@dataclass(frozen=True)
class Budget:
    """A row's search trials under one protocol as a budget curve (see ganbench.statistics.budget_curve)."""

    label: str
    curve: BudgetCurve
    hours_per_trial: float
    studies: int


@dataclass(frozen=True)
class Ranking:
    """The rows of one protocol, best first (by the mean over seeds), in tiers of rows that cannot be told apart."""

    protocol: str
    rows: list[Row]
    note: str = ""  # why the ranking stands apart from the others, beyond its protocol
    tiers: list[Tier] = field(default_factory=list)
    pairs: list[PairComparison] = field(default_factory=list)  # every pair of rows, the better-ranked first
    budgets: list[Budget] = field(default_factory=list)  # the rows with search trials, in row order


@dataclass(frozen=True)
class Leaderboard:
    dataset: str
    metric: str
    higher_is_better: bool
    rankings: list[Ranking]
    left_out: dict[str, int] = field(default_factory=dict)  # why -> how many runs
    other_metrics: list[str] = field(default_factory=list)  # registered metrics these runs logged instead

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


@dataclass(frozen=True)
class Leaderboards(Sequence[Leaderboard]):
    """The leaderboards of one metric, one per dataset, as data (``rows()``) and as tables (``to_markdown()``)."""

    boards: list[Leaderboard]

    def __getitem__(self, index: int) -> Leaderboard:  # type: ignore[override]
        return self.boards[index]

    def __len__(self) -> int:
        return len(self.boards)

    def rows(self) -> list[dict[str, Any]]:
        """Every ranked row as a dict keyed by the CSV's columns (dataset, metric, protocol, rank, model...)."""
        return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in _csv_rows(self.boards)]

    def to_markdown(self, command: str = "ganbench.leaderboard()") -> str:
        return to_markdown(self.boards, command, datetime.now().astimezone())

    def export(self, path: str | Path, command: str = "ganbench.leaderboard()") -> list[Path]:
        """Write the tables to ``path`` with .md and .csv suffixes, and the budget curves of searched rows
        beside them; returns the paths written."""
        return export_leaderboards(self.boards, Path(path), command)

    def __str__(self) -> str:
        return self.to_markdown()


# ---------------------------------------------------------------------------- reading


def higher_is_better(registry: Registry, metric: str) -> bool:
    try:
        return bool(registry.get("metric", metric).higher_is_better)
    except PluginError as exc:
        raise ConfigError(f"--metric {metric!r} cannot be ranked: {exc}") from exc


@contextmanager
def _reading(tracking_uri: str) -> Iterator[None]:
    try:
        yield
    except MlflowException as exc:
        raise GanbenchError(f"MLflow could not read the runs at {tracking_uri}: {exc.message}") from exc
    except OSError as exc:  # a server that does not answer
        raise GanbenchError(
            f"MLflow could not read the runs at {tracking_uri}: {exc}. "
            "Check that the tracking server is up, or pass --tracking-uri."
        ) from exc


def load_leaderboards(
    tracking_uri: str, metric: str, registry: Registry, dataset: str | None = None, models: Sequence[str] = ()
) -> list[Leaderboard]:
    """One leaderboard per experiment with runs (or for ``dataset`` only, and of ``models`` only when given);
    [] for a store with no runs yet."""
    higher = higher_is_better(registry, metric)
    store = local_store_path(tracking_uri)
    if store is not None and not store.exists():  # reading would create an empty store
        return []
    client = MlflowClient(tracking_uri=tracking_uri)
    with _reading(tracking_uri):
        experiments = _experiments(client, dataset)
        boards = []
        for experiment in experiments:
            runs = _training_runs(client, experiment.experiment_id)
            if models:
                runs = [run for run in runs if (run.data.tags.get("model") or run.data.params.get("model")) in models]
            if runs:
                boards.append(_leaderboard(client, experiment.name, runs, metric, higher, registry))
    return boards


def _experiments(client: MlflowClient, dataset: str | None) -> list[Experiment]:
    """Every experiment, or those of ``dataset``: the one of that name and its variants, e.g. for ``imagefolder``
    every ``imagefolder:<folder>``, for ``cifar10`` also ``cifar10[classes=cat,dog]``."""
    experiments = _all_pages(client.search_experiments)
    if dataset is None:
        return experiments
    chosen = sorted((e for e in experiments if is_of_dataset(e.name, dataset)), key=lambda e: e.name)
    if chosen:
        return chosen
    names = sorted(e.name for e in experiments if _training_runs(client, e.experiment_id))
    if not names:
        return []
    variants = ([] if ":" in dataset else [f"{dataset}:<folder>"]) + [f"{dataset}[<options>]"]
    raise ConfigError(
        f"--dataset {dataset!r}: the store has no experiment of that name, nor a variant ({', '.join(variants)}). "
        f"Experiments with runs: {', '.join(names)}. Leave out --dataset to rank them all."
    )


def is_of_dataset(experiment: str, dataset: str) -> bool:
    """Whether ``experiment`` holds runs of ``dataset``: its name, or a variant of it (see ``_experiments``)."""
    return experiment == dataset or experiment.startswith((f"{dataset}:", f"{dataset}["))


def _all_pages(search: Callable[..., PagedList], *args: Any) -> list[Any]:
    found: list[Any] = []
    token = None
    while True:
        page = search(*args, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _training_runs(client: MlflowClient, experiment_id: str) -> list[Run]:
    runs = _all_pages(client.search_runs, [experiment_id])
    return [run for run in runs if run.data.tags.get(KIND_TAG) not in NOT_TRAINING]


def _leaderboard(
    client: MlflowClient, dataset: str, runs: list[Run], metric: str, higher: bool, registry: Registry
) -> Leaderboard:
    scored: list[ScoredRun] = []
    left_out: Counter[str] = Counter()
    for run in runs:
        outcome = scored_run(client, run, metric, higher)
        if isinstance(outcome, ScoredRun):
            scored.append(outcome)
        else:
            left_out[outcome] += 1
    logged = {key for run in runs for key in run.data.metrics}
    others = [name for name in registry.names("metric") if name != metric and set(metric_keys(name)) & logged]
    return Leaderboard(dataset, metric, higher, rank(scored, higher), dict(left_out), others)


def scored_run(client: MlflowClient, run: Run, metric: str, higher: bool) -> ScoredRun | str:
    """The run with its best value, or why it is left out."""
    if run.info.status in UNRANKED_STATUSES:
        return UNRANKED_STATUSES[run.info.status]
    key = next((k for k in metric_keys(metric) if k in run.data.metrics), None)
    if key is None:
        return f"no {metric} logged"
    values = [m.value for m in client.get_metric_history(run.info.run_id, key) if math.isfinite(m.value)]
    if not values:
        return f"no finite {metric} value"
    tags, params = run.data.tags, run.data.params
    return ScoredRun(
        run_id=run.info.run_id,
        model=tags.get("model") or params.get("model", "?"),
        loss=tags.get("loss") or params.get("loss", "?"),
        protocol=tags.get(f"protocol.{metric}", NO_PROTOCOL),
        value=max(values) if higher else min(values),
        seed=params.get("seed", "?"),
        hours=max((run.info.end_time or 0) - run.info.start_time, 0) / 3.6e6,
        on_gpu=tags.get("device", "cpu").startswith(GPU_DEVICES),
        # runs that differ only in bookkeeping (and the seed) are repeats of one configuration
        configuration=frozenset((k, v) for k, v in params.items() if k not in BOOKKEEPING_FIELDS),
        flags=tags.get(f"flags.{metric}", ""),
        legacy=REFERENCE_TAG not in tags,
        study=tags.get(STUDY_TAG, ""),
    )


# ---------------------------------------------------------------------------- ranking


def rank(runs: Sequence[ScoredRun], higher: bool) -> list[Ranking]:
    """One ranking per protocol (most runs first, runs logged before values knew their data last), each with
    one row per (model, loss), best first."""
    by_protocol: dict[tuple[bool, str], list[ScoredRun]] = {}
    for run in runs:
        by_protocol.setdefault((run.legacy, run.protocol), []).append(run)
    rankings = []
    for (legacy, protocol), members in sorted(
        by_protocol.items(), key=lambda item: (item[0][0], -len(item[1]), item[0][1])
    ):
        groups: dict[tuple[str, str], list[ScoredRun]] = {}
        for run in members:
            groups.setdefault((run.model, run.loss), []).append(run)
        rows = sorted((_row(group, higher) for group in groups.values()), key=lambda r: _order(r, higher))
        ranking = _tiered(protocol, rows, higher, LEGACY_NOTE if legacy else "")
        budgets = [budget for row in ranking.rows if (budget := _budget(row, groups[row.model, row.loss], higher))]
        rankings.append(replace(ranking, budgets=budgets))
    return rankings


def _budget(row: Row, group: list[ScoredRun], higher: bool) -> Budget | None:
    trials = [run for run in group if run.study]
    if not trials:
        return None
    curve = budget_curve([run.value for run in trials], higher)
    hours = sum(run.hours for run in trials) / len(trials)
    return Budget(row.label, curve, hours, len({run.study for run in trials}))


def _order(row: Row, higher: bool) -> tuple[float, float, str, str]:
    sign = -1 if higher else 1
    return (sign * row.mean_value, sign * row.best, row.model, row.loss)


def _tiered(protocol: str, rows: list[Row], higher: bool, note: str) -> Ranking:
    found = tiers([(row.label, row.seed_values) for row in rows], higher)
    tier_of = {label: tier.number for tier in found for label in tier.members}
    ranked = [replace(row, rank=i, tier=tier_of[row.label]) for i, row in enumerate(rows, 1)]
    pairs = [
        compare_pair(a.label, a.seed_values, b.label, b.seed_values, higher)
        for i, a in enumerate(ranked)
        for b in ranked[i + 1 :]
    ]
    return Ranking(protocol, ranked, note, found, pairs)


def _row(group: list[ScoredRun], higher: bool) -> Row:
    best = (max if higher else min)(group, key=lambda run: run.value)
    repeats = [run for run in group if run.configuration == best.configuration]
    if any(not run.study for run in repeats):
        # a trial was picked as the best of many (the winner's curse): runs outside a search, such as
        # --confirm-seeds, estimate what its settings give
        repeats = [run for run in repeats if not run.study]
    per_seed: dict[str, ScoredRun] = {}  # each seed's best run
    for run in repeats:
        previous = per_seed.setdefault(run.seed, run)
        if (run.value > previous.value) if higher else (run.value < previous.value):
            per_seed[run.seed] = run
    by_seed = sorted(per_seed, key=lambda seed: (not seed.isdigit(), int(seed) if seed.isdigit() else 0, seed))
    summary = summarize_seeds([per_seed[seed].value for seed in by_seed])
    spread = summary.sd is not None
    return Row(
        rank=0,
        model=best.model,
        loss=best.loss,
        best=best.value,
        best_run=best.run_id,
        seed_mean=summary.mean if spread else None,
        seed_std=summary.sd,
        seeds=len(per_seed),
        seed_values=summary.values,
        seed_runs=tuple(per_seed[seed].run_id for seed in by_seed),
        seed_labels=tuple(by_seed),
        seed_interval=summary.interval,
        runs=len(group),
        gpu_hours=sum(run.hours for run in group if run.on_gpu),
        cpu_hours=sum(run.hours for run in group if not run.on_gpu),
        flags=best.flags,
    )


# ---------------------------------------------------------------------------- showing


COLUMNS = (
    "#",
    "tier",
    "model",
    "loss",
    "best",
    "mean ± sd over seeds",
    "95% CI of the mean",
    "runs",
    "GPU h",
    "CPU h",
    "best run",
)
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
TIERS_NOTE = (
    "Order: by the mean over the seeds of each row's best configuration (its value, with one seed). Tiers "
    "(a blank line apart in the terminal): rows that a two-sided Mann–Whitney test at 5% over those seeds cannot "
    "tell from their tier's first row."
)
ONE_SEED_EACH = (
    "Every row is in tier 1: each has one seed, and telling two models apart needs 2+ runs each "
    "(4+ to reach p < 0.05). Add seeds with `ganbench compare --confirm-seeds 4`."
)


def markers(ranking: Ranking) -> dict[str, str]:
    """A marker (¹, ², ...) for each distinct caveat of the ranking's best values.

    Superscripts, as they mean nothing to rich's markup, Markdown or CSV ("*" starts a Markdown list).
    """
    distinct = dict.fromkeys(row.flags for row in ranking.rows if row.flags)
    return {flags: str(number).translate(SUPERSCRIPTS) for number, flags in enumerate(distinct, 1)}


def footnotes(ranking: Ranking) -> list[str]:
    return [f"{marker} {flags}" for flags, marker in markers(ranking).items()]


def tier_notes(ranking: Ranking) -> list[str]:
    """Why each row is in its tier: against the first row of the tier it joined, or the one it left."""
    if len(ranking.rows) < 2:
        return []
    if all(row.seeds < 2 for row in ranking.rows):
        return [ONE_SEED_EACH]
    by_pair = {(pair.first, pair.second): pair for pair in ranking.pairs}
    notes, leader = [TIERS_NOTE], ranking.rows[0].label
    for row in ranking.rows[1:]:
        pair = by_pair[(leader, row.label)]
        interval = f" {pair.interval.text(2, 'f')}" if pair.interval else ""
        notes.append(
            f"{row.label} vs {leader}: {pair.why}. P({leader}'s run is better) = {pair.first_wins:.2f}{interval}."
        )
        if pair.apart:
            leader = row.label
    return notes


def budget_notes(ranking: Ranking, metric: str) -> list[str]:
    """Each searched row's expected best after 1 trial, after as many as the least-searched row had, and after
    all its own, with the band where 95% of studies that size end."""
    if not ranking.budgets:
        return []
    common = min(budget.curve.trials for budget in ranking.budgets)
    notes = [
        f"Budget: the expected best {metric} of a search of k trials, resampled from each row's trials, and "
        "where 95% of such searches end (failed trials left out):"
    ]
    for budget in ranking.budgets:
        curve = budget.curve
        points = sorted({1, common, curve.trials})
        shown = " · ".join(
            f"{k} → {curve.expected[k - 1]:.4g} [{curve.low[k - 1]:.4g}, {curve.high[k - 1]:.4g}]" for k in points
        )
        studies = f" in {budget.studies} studies" if budget.studies > 1 else ""
        trials = f"{curve.trials} trial{'s' if curve.trials != 1 else ''}"
        notes.append(f"{budget.label}: {trials}{studies} of {budget.hours_per_trial:.2g} h: {shown}.")
    return notes


def seed_spread(row: Row, unit: str = " seeds") -> str:
    return f"{row.seed_mean:.4g} ± {row.seed_std:.2g} ({row.seeds}{unit})" if row.seed_mean is not None else "—"


def seed_interval(row: Row) -> str:
    return row.seed_interval.text() if row.seed_interval else "—"


def _cells(row: Row, marks: dict[str, str]) -> list[str]:
    return [
        str(row.rank),
        str(row.tier),
        row.model,
        row.loss,
        f"{row.best:.4g}{marks.get(row.flags, '')}",
        seed_spread(row),
        seed_interval(row),
        str(row.runs),
        f"{row.gpu_hours:.2f}" if row.gpu_hours else "—",
        f"{row.cpu_hours:.2f}" if row.cpu_hours else "—",
        row.best_run,
    ]


def left_out_line(board: Leaderboard) -> str:
    if not board.left_out:
        return ""
    total = sum(board.left_out.values())
    reasons = ", ".join(f"{count} {why}" for why, count in sorted(board.left_out.items()))
    return f"Left out: {total} run{'s' if total != 1 else ''} ({reasons})."


def several_protocols_line(board: Leaderboard) -> str:
    return (
        f"{board.metric} on {board.dataset} was computed under {len(board.rankings)} protocols: each table ranks "
        "one protocol, and rows in different tables are not comparable."
    )


def no_runs_message(boards: Sequence[Leaderboard], metric: str, tracking_uri: str) -> str:
    others = sorted({name for board in boards for name in board.other_metrics})
    hint = f" The runs there logged {', '.join(others)}: pass --metric {others[0]}." if others else ""
    left_out = "".join(f" {board.dataset}: {left_out_line(board)}" for board in boards if board.left_out)
    return (
        f"No run in {tracking_uri} has {metric} yet.{hint}{left_out} Train with `ganbench run` (one run) or "
        "`ganbench search` (a study), then run `ganbench leaderboard` again."
    )


def print_leaderboards(boards: Sequence[Leaderboard], console: Console) -> None:
    for board in boards:
        # names and protocols such as "cifar10[classes=cat,dog]" are no markup
        console.rule(f"[bold]{escape(board.dataset)}[/]: {board.metric}, {board.direction}")
        if not board.rankings:
            console.print(f"No run of {board.dataset} has {board.metric}.", markup=False)
        if len(board.rankings) > 1:
            console.print(several_protocols_line(board), style="yellow", markup=False)
        for ranking in board.rankings:
            console.print(Text(f"protocol: {ranking.protocol}"))
            console.print(_terminal_table(board, ranking))
            if ranking.note:
                console.print(ranking.note, style="yellow", markup=False)
            for note in footnotes(ranking):
                console.print(note, style="yellow", markup=False, highlight=False)
            for note in tier_notes(ranking) + budget_notes(ranking, board.metric):
                console.print(note, style="dim", markup=False, highlight=False)
        if board.left_out:
            console.print(left_out_line(board), style="dim", markup=False)


def _terminal_table(board: Leaderboard, ranking: Ranking) -> Table:
    """The ranking in 80 columns: no borders, no rank column (the order is the rank), short run ids, an hours
    column only for the devices used, the 95% interval as its half-width, and a blank line between tiers."""
    devices = [
        (label, key)
        for label, key in (("GPU h", "gpu_hours"), ("CPU h", "cpu_hours"))
        if any(getattr(row, key) for row in ranking.rows)
    ]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, header_style="bold")
    for column in ("model", "loss", f"best {board.metric}", "mean ± sd (n)", "95% CI", "runs"):
        table.add_column(column, no_wrap=column not in ("model", "loss"), overflow="fold")
    for label, _ in devices:
        table.add_column(label, no_wrap=True)
    table.add_column("run", no_wrap=True)
    marks = markers(ranking)
    for row, after in zip(ranking.rows, [*ranking.rows[1:], None], strict=True):
        hours = [f"{getattr(row, key):.2f}" if getattr(row, key) else "—" for _, key in devices]
        best = f"{row.best:.4g}{marks.get(row.flags, '')}"
        interval = f"±{row.seed_interval.half_width:.3g}" if row.seed_interval else "—"
        cells = (row.model, row.loss, best, seed_spread(row, ""), interval, str(row.runs))
        table.add_row(*cells, *hours, row.best_run[:8], end_section=after is not None and after.tier != row.tier)
    return table


# ---------------------------------------------------------------------------- exporting


CSV_COLUMNS = (
    "dataset",
    "metric",
    "higher_is_better",
    "protocol",
    "rank",
    "model",
    "loss",
    "best",
    "seed_mean",
    "seed_std",
    "seed_ci_low",
    "seed_ci_high",
    "seeds",
    "tier",
    "runs",
    "gpu_hours",
    "cpu_hours",
    "best_run_id",
    "flags",
    "note",
)


def export_leaderboards(boards: Sequence[Leaderboard], path: Path, command: str) -> list[Path]:
    """Write ``path`` with a .md suffix (a header line and a table per protocol), with a .csv suffix, and
    the budget curves of each table with search trials as PNGs beside them (``<name>-budget.png``, then
    ``-budget-2.png``...), linked from the Markdown. Returns the paths written, tables first."""
    from ganbench.tracking.figures import draw_budget_curves  # matplotlib: only when pictures are drawn

    markdown, table = path.with_suffix(".md"), path.with_suffix(".csv")
    markdown.parent.mkdir(parents=True, exist_ok=True)
    searched = [(board, ranking) for board in boards for ranking in board.rankings if ranking.budgets]
    figures = {}
    for number, (board, ranking) in enumerate(searched, 1):
        name = f"{path.stem}-budget{'' if number == 1 else f'-{number}'}.png"
        figures[board.dataset, ranking.protocol] = draw_budget_curves(board, ranking, path.with_name(name))
    names = {key: figure.name for key, figure in figures.items()}
    markdown.write_text(to_markdown(boards, command, datetime.now().astimezone(), names))
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_rows(boards))
    return [markdown, table, *figures.values()]


def to_markdown(
    boards: Sequence[Leaderboard], command: str, when: datetime, figures: Mapping[tuple[str, str], str] | None = None
) -> str:
    """The tables as Markdown; ``figures`` names the budget-curve picture of a (dataset, protocol) to link."""
    date = when.strftime("%Y-%m-%d %H:%M %Z").strip()
    lines = []
    for board in boards:
        if len(board.rankings) > 1:
            lines += [several_protocols_line(board), ""]
        for ranking in board.rankings:
            marks = markers(ranking)
            lines += [
                f"**{board.dataset}**, {board.metric} ({board.direction}), protocol `{ranking.protocol}`: "
                f"`{command}`, {date}",
                "",
                *((ranking.note, "") if ranking.note else ()),
                "| " + " | ".join(f"best {board.metric}" if c == "best" else c for c in COLUMNS) + " |",
                "|" + "---|" * len(COLUMNS),
                *("| " + " | ".join(_cells(row, marks)) + " |" for row in ranking.rows),
                "",
                *(
                    line
                    for note in footnotes(ranking) + tier_notes(ranking) + budget_notes(ranking, board.metric)
                    for line in (note, "")
                ),
                *(
                    (f"![budget curves of {board.dataset}]({figure})", "")
                    if (figure := (figures or {}).get((board.dataset, ranking.protocol)))
                    else ()
                ),
            ]
        if board.left_out:
            lines += [left_out_line(board), ""]
    return "\n".join(lines)


def _csv_rows(boards: Sequence[Leaderboard]) -> Iterator[list[object]]:
    for board in boards:
        for ranking in board.rankings:
            for row in ranking.rows:
                yield [
                    board.dataset,
                    board.metric,
                    board.higher_is_better,
                    ranking.protocol,
                    row.rank,
                    row.model,
                    row.loss,
                    row.best,
                    "" if row.seed_mean is None else row.seed_mean,
                    "" if row.seed_std is None else row.seed_std,
                    "" if row.seed_interval is None else row.seed_interval.low,
                    "" if row.seed_interval is None else row.seed_interval.high,
                    row.seeds,
                    row.tier,
                    row.runs,
                    round(row.gpu_hours, 4),
                    round(row.cpu_hours, 4),
                    row.best_run,
                    row.flags,
                    ranking.note,
                ]
