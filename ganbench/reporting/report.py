"""``ganbench report``: what a comparison hands in, from the runs MLflow holds, as ``report.md`` and its
self-contained twin ``report.html`` (images inlined: it opens offline, and can be mailed or attached).

One section per protocol, never mixing two: the leaderboard with its intervals, tiers and budget curves;
each model's metric against step and its losses; the sample grids of each best run side by side at the
latest step they share; the protocol card; the settings that differ between the models; the environment of
each best run; and the commands that reproduce every number.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import markdown
import yaml
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganbench.config import BOOKKEEPING_FIELDS
from ganbench.errors import ConfigError
from ganbench.filesystem import file_name
from ganbench.registry import Registry
from ganbench.reporting.figures import History, draw_loss_curves, draw_metric_curves
from ganbench.tracking.figures import draw_budget_curves
from ganbench.tracking.leaderboard import (
    Leaderboard,
    Ranking,
    Row,
    load_leaderboards,
    no_runs_message,
    to_markdown,
)
from ganbench.tracking.runs import Tracker
from ganbench.tracking.ui import KIND_TAG, REPORT_KIND, metric_keys

ENVIRONMENT_TAGS = ("device", "processes", "torch", "cpu_threads", "cpu_capability", "platform")
SAMPLES_FOLDER = "samples"
REPORT_FOLDER = "report"  # the report's artifacts in its MLflow run
REPORT_METRIC_TAG = "ganbench.report.metric"
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
STEP_IN_NAME = re.compile(r"step_(\d+)\.png$")
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code, pre { background: #f6f6f6; }
pre { padding: 0.8em; overflow-x: auto; }
.samples td { vertical-align: top; text-align: center; }
"""


@dataclass(frozen=True)
class WrittenReport:
    markdown: Path
    html: Path
    figures: list[Path]
    experiment: str  # the MLflow experiment the report is logged to (its first section's)
    run_id: str = ""  # the report's MLflow run, once logged


def log_report(written: WrittenReport, tracker: Tracker, metric: str) -> WrittenReport:
    """Log the report as the artifacts (``report/``) of a run tagged ``ganbench.kind=report``, which
    leaderboards leave out and ``ganbench ui`` links."""
    run_id = tracker.start(written.experiment, f"report-{metric}", {KIND_TAG: REPORT_KIND, REPORT_METRIC_TAG: metric})
    for path in (written.html, written.markdown, *written.figures):
        tracker.log_artifact(path, REPORT_FOLDER)
    tracker.end("FINISHED")
    return replace(written, run_id=run_id)


def write_report(
    tracking_uri: str,
    metric: str,
    registry: Registry,
    out: Path,
    command: str,
    dataset: str | None = None,
    models: Sequence[str] = (),
) -> WrittenReport:
    """Write ``out/report.md``, ``out/report.html`` and the pictures; a ConfigError says why when nothing can be
    reported (no store, no run with the metric, an unknown dataset)."""
    boards = load_leaderboards(tracking_uri, metric, registry, dataset, models)
    if not any(board.rankings for board in boards):
        chosen = f" of {', '.join(models)}" if models else ""
        raise ConfigError(f"Nothing to report{chosen}: " + no_runs_message(boards, metric, tracking_uri))
    out.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri)
    when = datetime.now().astimezone()
    sections = [
        f"# ganbench report: {metric}" + (f" on {dataset}" if dataset else ""),
        "",
        f"Written {when:%Y-%m-%d %H:%M %Z} by `{command}` from the MLflow store `{tracking_uri}`. "
        "Values of different protocols (extractor, sample counts, reference data, resize) are never compared: "
        "each protocol has its own section.",
        "",
    ]
    figures: list[Path] = []
    for board in boards:
        for number, ranking in enumerate(board.rankings, 1):
            name = file_name(f"{board.dataset}-{metric}-{number}")
            section = _Section(client, board, ranking, out, name)
            sections += section.lines(command, when)
            figures += section.figures
    text = "\n".join(sections)
    markdown_path, html_path = out / "report.md", out / "report.html"
    markdown_path.write_text(text)
    html_path.write_text(to_html(text, out, f"ganbench report: {metric}"))
    experiment = next(board.dataset for board in boards if board.rankings)
    return WrittenReport(markdown_path, html_path, figures, experiment)


class _Section:
    """One protocol's part of the report."""

    def __init__(self, client: MlflowClient, board: Leaderboard, ranking: Ranking, out: Path, name: str) -> None:
        self.client, self.board, self.ranking, self.out, self.name = client, board, ranking, out, name
        self.runs = {row.best_run: client.get_run(row.best_run) for row in ranking.rows}
        self.figures: list[Path] = []

    def lines(self, command: str, when: datetime) -> list[str]:
        board, ranking = self.board, self.ranking
        single = replace(board, rankings=[ranking], left_out={})
        lines = [f"## {board.dataset}: {board.metric}, protocol `{ranking.protocol}`", ""]
        lines += _protocol_card(ranking, board)
        lines += ["### Leaderboard", "", to_markdown([single], command, when)]
        lines += self._budget_curves()
        lines += self._training_curves()
        lines += self._samples()
        lines += _settings_table(ranking.rows, self.runs)
        lines += _environment_table(ranking.rows, self.runs)
        lines += self._reproduce()
        return lines

    def _budget_curves(self) -> list[str]:
        lines = ["### Budget curves", ""]
        searched = {budget.label for budget in self.ranking.budgets}
        if not searched:
            return lines + [
                "None: no run here is a search's trial, and a budget curve resamples the trials of a search "
                "(`ganbench search` or `ganbench compare`).",
                "",
            ]
        lines += [self._image(draw_budget_curves(self.board, self.ranking, self._path("budget"))), ""]
        unsearched = [row.label for row in self.ranking.rows if row.label not in searched]
        if unsearched:
            lines += [f"Not in the figure, having no search trials: {', '.join(unsearched)}.", ""]
        return lines

    def _path(self, what: str) -> Path:
        return self.out / f"{self.name}-{what}.png"

    def _image(self, path: Path, alt: str = "") -> str:
        self.figures.append(path)
        return f"![{alt or path.stem}]({path.name})"

    def _history(self, run_id: str, keys: Sequence[str]) -> History:
        for key in keys:
            found = self.client.get_metric_history(run_id, key)
            if found:
                return sorted((m.step, m.value) for m in found)
        return []

    def _training_curves(self) -> list[str]:
        metric, keys = self.board.metric, metric_keys(self.board.metric)
        best = {row.label: self._history(row.best_run, keys) for row in self.ranking.rows}
        seeds = {row.label: [self._history(run, keys) for run in row.seed_runs] for row in self.ranking.rows}
        losses = {
            row.label: {key: self._history(row.best_run, (key,)) for key in ("loss_d", "loss_g")}
            for row in self.ranking.rows
        }
        title = f"{self.board.dataset}: {metric} ({self.board.direction})"
        lines = ["### During training", ""]
        lines += [self._image(draw_metric_curves(best, seeds, metric, title, self._path(file_name(metric)))), ""]
        if any(series for by_key in losses.values() for series in by_key.values()):
            lines += [self._image(draw_loss_curves(losses, "losses of each best run", self._path("losses"))), ""]
        else:
            lines += ["No losses were logged by these runs.", ""]
        return lines

    def _samples(self) -> list[str]:
        """Each best run's sample grid at the latest step every best run has one for, or each one's last."""
        grids = {row.label: self._grids(row.best_run) for row in self.ranking.rows}
        shared = set.intersection(*(set(found) for found in grids.values())) if grids else set()
        lines = ["### Samples", ""]
        if shared:
            lines += [
                f"Each model's best run at step {max(shared):,}, the latest step all of them have samples of.",
                "",
            ]
        elif any(grids.values()):
            lines += ["The best runs share no step with samples: each is shown at its last.", ""]
        cells = []
        for row in self.ranking.rows:
            found = grids[row.label]
            if not found:
                cells.append((row.label, "no sample grid was logged"))
                continue
            step = max(shared) if shared else max(found)
            local = self._download(row.best_run, found[step], f"samples-{file_name(row.label)}")
            cells.append((f"{row.label}, step {step:,}", self._image(local, f"samples of {row.label}")))
        lines += ["| " + " | ".join(label for label, _ in cells) + " |", "|" + "---|" * len(cells)]
        lines += ["| " + " | ".join(image for _, image in cells) + " |", ""]
        return lines

    def _grids(self, run_id: str) -> dict[int, str]:
        try:
            listed = self.client.list_artifacts(run_id, SAMPLES_FOLDER)
        except (MlflowException, OSError):
            return {}
        return {int(match[1]): item.path for item in listed if (match := STEP_IN_NAME.search(item.path))}

    def _download(self, run_id: str, artifact: str, what: str) -> Path:
        with tempfile.TemporaryDirectory() as folder, _no_progress_bars():
            local = Path(self.client.download_artifacts(run_id, artifact, folder))
            target = self._path(what)
            shutil.copyfile(local, target)
        return target

    def _reproduce(self) -> list[str]:
        lines = [
            "### Reproduce",
            "",
            "Each number above is a run's best evaluation; `ganbench eval RUN_ID` scores a run's checkpoint "
            "again (add `--eval-samples` and the other settings of the protocol), and each best run's settings "
            "train again with `ganbench run --config CONFIG.yaml --seed SEED`:",
            "",
        ]
        for row in self.ranking.rows:
            run = self.runs[row.best_run]
            config = _config_yaml(self.client, run)
            lines += [
                f"- **{row.label}**: best run `{row.best_run}` (seed {run.data.params.get('seed', '?')}), scored again "
                f"by `ganbench eval {row.best_run}`"
            ]
            if row.seeds >= 2:
                runs = ", ".join(f"`{seed_run}`" for seed_run in row.seed_runs)
                lines[-1] += f"; the mean over seeds {', '.join(row.seed_labels)} comes from runs {runs}"
            lines.append("")
            if config:
                lines += [
                    f'<details markdown="1"><summary>{row.label}: config.yaml of the best run</summary>',
                    "",
                    f"```yaml\n{config.rstrip()}\n```",
                    "",
                    "</details>",
                    "",
                ]
        return lines


def _protocol_card(ranking: Ranking, board: Leaderboard) -> list[str]:
    return [
        "| protocol | |",
        "|---|---|",
        f"| as recorded with every value | `{ranking.protocol}` |",
        "| reads | extractor@weights hash, generated vs reference sample counts, reference data and its identity, "
        "the resolution images are resized to |",
        f"| metric | {board.metric} ({board.direction}) |",
        f"| dataset (MLflow experiment) | `{board.dataset}` |",
        "",
    ]


def _settings_table(rows: Sequence[Row], runs: dict[str, Run]) -> list[str]:
    params = {row.label: runs[row.best_run].data.params for row in rows}
    keys = sorted({key for found in params.values() for key in found} - BOOKKEEPING_FIELDS - {"model", "loss"})
    differ = [key for key in keys if len({found.get(key, "—") for found in params.values()}) > 1]
    lines = ["### Settings that differ between the best runs", ""]
    if len(rows) < 2:
        return [*lines, "One model: nothing to compare.", ""]
    if not differ:
        return [*lines, f"None: the best runs share all {len(keys)} settings but model and loss.", ""]
    lines += ["| setting | " + " | ".join(params) + " |", "|" + "---|" * (len(params) + 1)]
    lines += [f"| {key} | " + " | ".join(found.get(key, "—") for found in params.values()) + " |" for key in differ]
    return [*lines, "", f"The other {len(keys) - len(differ)} settings are the same for every best run.", ""]


def _environment_table(rows: Sequence[Row], runs: dict[str, Run]) -> list[str]:
    lines = ["### Environment of each best run", "", "| model | " + " | ".join(ENVIRONMENT_TAGS) + " |"]
    lines.append("|" + "---|" * (len(ENVIRONMENT_TAGS) + 1))
    for row in rows:
        tags = runs[row.best_run].data.tags
        lines.append(f"| {row.label} | " + " | ".join(tags.get(tag, "not recorded") for tag in ENVIRONMENT_TAGS) + " |")
    return [*lines, ""]


def _config_yaml(client: MlflowClient, run: Run) -> str:
    try:
        with tempfile.TemporaryDirectory() as folder, _no_progress_bars():
            return Path(client.download_artifacts(run.info.run_id, "config.yaml", folder)).read_text()
    except (MlflowException, OSError):  # a run logged without its config file
        params = {key: value for key, value in run.data.params.items() if key not in BOOKKEEPING_FIELDS}
        return yaml.safe_dump(params, sort_keys=True) if params else ""


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """MLflow draws a progress bar on stderr for every file it downloads: noise for a file of a few KB."""
    previous = os.environ.get(PROGRESS_BAR)
    os.environ[PROGRESS_BAR] = "false"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PROGRESS_BAR]
        else:
            os.environ[PROGRESS_BAR] = previous


def to_html(text: str, folder: Path, title: str) -> str:
    """The Markdown as one HTML page, its images (files in ``folder``) inlined as data URIs."""
    body = markdown.markdown(text, extensions=["tables", "fenced_code", "md_in_html"])

    def inline(match: re.Match[str]) -> str:
        path = folder / match[1]
        if not path.is_file():
            return match[0]
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'src="([^":]+\.png)"', inline, body)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
