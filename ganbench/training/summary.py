"""The one-screen summary at the end of a run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ganbench.evaluation.evaluator import MetricResult
from ganbench.evaluation.report import Footnotes, value_text
from ganbench.tracking.runs import ui_command
from ganbench.training.loop import Outcome

STATUS_STYLE = {"FINISHED": "green", "KILLED": "yellow", "FAILED": "red"}


def _metric_rows(outcome: Outcome, notes: Footnotes) -> list[tuple[str, str, str]]:
    """(metric, best, final) per metric, each value with its markers."""
    by_metric: dict[str, list[tuple[int, MetricResult]]] = {}
    for evaluation in outcome.evaluations:
        for result in evaluation.results:
            by_metric.setdefault(result.metric, []).append((evaluation.step, result))
    rows = []
    for metric, entries in by_metric.items():
        step, final = entries[-1]
        if final.values is None:
            rows.append((metric, notes.unavailable(final), "—"))
            continue
        scored = [(s, r) for s, r in entries if r.value is not None]
        best_step, best = (max if final.higher_is_better else min)(scored, key=lambda item: item[1].value)
        rows.append(
            (
                metric,
                f"{value_text(best)}{notes.marks(best)} (step {best_step})",
                f"{value_text(final)}{notes.marks(final)} (step {step})",
            )
        )
    return rows


def print_summary(outcome: Outcome, console: Console) -> None:
    style = STATUS_STYLE.get(outcome.status, "white")
    console.rule(f"[{style}]run {outcome.run_id} {outcome.status.lower()}")
    if outcome.message:
        console.print(outcome.message)
    notes = Footnotes([result for evaluation in outcome.evaluations for result in evaluation.results])
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("metric", "best", "final"):
        table.add_column(column, overflow="fold")
    for row in _metric_rows(outcome, notes):
        table.add_row(*map(Text, row))  # Text: "[a]" is no markup
    if table.row_count:
        console.print(table)
        notes.print(console)
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
