"""The one-screen summary at the end of a run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ganbench.evaluation.evaluator import MetricResult
from ganbench.tracking.runs import ui_command
from ganbench.training.loop import Outcome

STATUS_STYLE = {"FINISHED": "green", "KILLED": "yellow", "FAILED": "red"}


def _metric_rows(outcome: Outcome) -> list[tuple[str, str, str, str]]:
    by_metric: dict[str, list[tuple[int, MetricResult]]] = {}
    for evaluation in outcome.evaluations:
        for result in evaluation.results:
            by_metric.setdefault(result.metric, []).append((evaluation.step, result))
    rows = []
    for metric, entries in by_metric.items():
        step, final = entries[-1]
        if final.values is None:
            rows.append((metric, "unavailable", "", final.unavailable or ""))
            continue
        scored = [(s, r.value) for s, r in entries if r.value is not None]
        best_step, best = (max if final.higher_is_better else min)(scored, key=lambda item: item[1])
        note = "; ".join(([final.protocol.describe()] if final.protocol else []) + list(final.flags))
        rows.append((metric, f"{best:.4g} (step {best_step})", f"{final.value:.4g} (step {step})", note))
    return rows


def print_summary(outcome: Outcome, console: Console) -> None:
    style = STATUS_STYLE.get(outcome.status, "white")
    console.rule(f"[{style}]run {outcome.run_id} {outcome.status.lower()}")
    if outcome.message:
        console.print(outcome.message)
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("metric", "best", "final", "protocol"):
        table.add_column(column, overflow="fold")
    for row in _metric_rows(outcome):
        table.add_row(*map(Text, row))  # Text: a protocol's "cifar10[classes=cat,dog]" is no markup
    if table.row_count:
        console.print(table)
    minutes, seconds = divmod(int(outcome.wall_seconds), 60)
    console.print(
        f"steps {outcome.step}/{outcome.steps}   training time {minutes}m{seconds:02d}s   "
        f"{outcome.images_per_second:.0f} images/s"
    )
    console.print(f"run folder   {outcome.run_dir}")
    console.print(f"checkpoint   {outcome.checkpoint}")
    if outcome.best_checkpoint and outcome.best:
        console.print(f"best         {outcome.best_checkpoint} ({outcome.best.describe()})", markup=False)
    console.print(f"MLflow UI    {ui_command(outcome.tracking_uri)}")
    if outcome.status == "KILLED":
        console.print(f"resume with  ganbench run --resume {outcome.run_id}")
