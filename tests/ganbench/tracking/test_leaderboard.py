"""``ganbench leaderboard`` on MLflow stores built here run by run: ranking, protocols, seeds, exports."""

from __future__ import annotations

import csv
import io
import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlflow.entities import Param
from mlflow.tracking import MlflowClient
from rich.console import Console

from ganbench.data.identity import REFERENCE_TAG
from ganbench.errors import ConfigError
from ganbench.tracking.leaderboard import (
    LEGACY_NOTE,
    ONE_SEED_EACH,
    TIERS_NOTE,
    Leaderboard,
    budget_notes,
    export_leaderboards,
    load_leaderboards,
    no_runs_message,
    print_leaderboards,
    tier_notes,
    to_markdown,
)
from tests.conftest import ganbench_command, plugin_env

START = 1_700_000_000_000  # ms
PROTOCOL = "inception-v3-compat@abcdef12, 400 generated vs 400 train, 32px"
OTHER_PROTOCOL = "inception-v3-compat@abcdef12, 10000 generated vs 50000 train, 32px"


class Store:
    """A SQLite MLflow store under tmp_path, filled the way ``ganbench run`` fills it."""

    def __init__(self, tmp_path: Path) -> None:
        self.uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri)

    def add(
        self,
        model: str = "dcgan",
        loss: str = "bce",
        values: tuple[float, ...] = (50.0,),
        *,
        metric: str = "fid",
        key: str | None = None,
        protocol: str | None = PROTOCOL,
        seed: int = 0,
        status: str | None = "FINISHED",
        hours: float = 1.0,
        device: str = "cpu",
        dataset: str = "shapes",
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        legacy: bool = False,
    ) -> str:
        experiment = self.client.get_experiment_by_name(dataset)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(dataset)
        run_tags = {"model": model, "loss": loss, "dataset": dataset, "device": device}
        if not legacy:  # logged after values recorded their reference data
            run_tags[REFERENCE_TAG] = f"{dataset}/train"
        if protocol is not None:
            run_tags[f"protocol.{metric}"] = protocol
        run = self.client.create_run(experiment_id, start_time=START, tags={**run_tags, **(tags or {})})
        run_id = run.info.run_id
        all_params = {
            "model": model,
            "loss": loss,
            "seed": str(seed),
            "lr_g": "0.0002",
            "steps": "1000",
            "run_name": f"{model}-{dataset}-s{seed}",
            "results_dir": "results",
            **(params or {}),
        }
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in all_params.items()])
        for step, value in enumerate(values, 1):
            self.client.log_metric(run_id, key or metric, value, timestamp=START, step=step * 250)
        if status is not None:
            self.client.set_terminated(run_id, status, end_time=START + int(hours * 3.6e6))
        return run_id


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


def only_board(store: Store, registry, metric: str = "fid") -> Leaderboard:
    boards = load_leaderboards(store.uri, metric, registry)
    assert len(boards) == 1
    return boards[0]


def rendered(boards: list[Leaderboard]) -> str:
    console = Console(file=io.StringIO(), width=200)
    print_leaderboards(boards, console)
    return console.file.getvalue()


def test_fid_ranks_each_model_and_loss_by_its_best_value_lowest_first(store, registry):
    sngan = store.add("sngan", "hinge", (90.0, 30.0, 45.0), hours=2.0, device="cuda:0")  # best is not the last
    store.add("dcgan", "bce", (60.0, 40.0), hours=0.5)
    store.add("dcgan", "hinge", (35.0,), hours=0.25)
    board = only_board(store, registry)
    assert not board.higher_is_better
    (ranking,) = board.rankings
    assert [(r.rank, r.model, r.loss, r.best) for r in ranking.rows] == [
        (1, "sngan", "hinge", 30.0),
        (2, "dcgan", "hinge", 35.0),
        (3, "dcgan", "bce", 40.0),
    ]
    top = ranking.rows[0]
    assert top.best_run == sngan
    assert (top.gpu_hours, top.cpu_hours) == (pytest.approx(2.0), 0.0)
    assert ranking.rows[2].cpu_hours == pytest.approx(0.5)
    text = rendered([board])
    assert "lower is better" in text and sngan[:8] in text and "2.00" in text


def test_a_higher_is_better_metric_ranks_highest_first(store, registry):
    # proxy-acc is higher-is-better in its registry spec and logged under the key proxy_acc.
    store.add("cdcgan", "bce", (0.2, 0.9, 0.5), metric="proxy-acc", key="proxy_acc")
    store.add("acgan", "bce", (0.7,), metric="proxy-acc", key="proxy_acc")
    board = only_board(store, registry, "proxy-acc")
    assert board.higher_is_better
    assert [(r.model, r.best) for r in board.rankings[0].rows] == [("cdcgan", 0.9), ("acgan", 0.7)]
    assert "higher is better" in rendered([board])


def test_rows_of_different_protocols_are_ranked_in_separate_tables(store, registry):
    store.add("dcgan", "bce", (40.0,))
    store.add("sngan", "hinge", (45.0,))
    store.add("dcgan", "bce", (20.0,), protocol=OTHER_PROTOCOL)
    store.add("dcgan", "hinge", (30.0,), protocol=None)  # a run that recorded no protocol is never merged either
    board = only_board(store, registry)
    by_protocol = {r.protocol: [(row.rank, row.model, row.loss) for row in r.rows] for r in board.rankings}
    assert by_protocol == {
        PROTOCOL: [(1, "dcgan", "bce"), (2, "sngan", "hinge")],
        OTHER_PROTOCOL: [(1, "dcgan", "bce")],
        "not recorded": [(1, "dcgan", "hinge")],
    }
    text = rendered([board])
    assert "3 protocols" in text and "not comparable" in text
    assert f"protocol: {PROTOCOL}" in text and f"protocol: {OTHER_PROTOCOL}" in text


def test_spread_is_over_the_seeds_of_the_best_runs_configuration(store, registry):
    for seed, values in enumerate([(20.0, 10.0), (11.0, 18.0), (15.0,)]):
        store.add("dcgan", "bce", values, seed=seed, params={"run_name": f"trial-{seed}"})
    store.add("dcgan", "bce", (30.0,), seed=0, params={"lr_g": "0.001"})  # another configuration: a trial, no seed
    store.add("sngan", "hinge", (25.0,))  # one seed only
    board = only_board(store, registry)
    dcgan, sngan = board.rankings[0].rows
    assert (dcgan.best, dcgan.seeds, dcgan.runs) == (10.0, 3, 4)
    assert dcgan.seed_mean == pytest.approx(12.0)  # mean of 10, 11, 15
    assert dcgan.seed_std == pytest.approx(math.sqrt(7.0))  # sample standard deviation
    assert (sngan.seed_mean, sngan.seed_std, sngan.seeds) == (None, None, 1)
    text = rendered([board])
    assert "mean ± sd (n)" in text and "12 ± 2.6 (3)" in text  # the count of seeds under its header
    assert "—" in text


def test_runs_without_the_metric_or_unfinished_are_left_out_and_counted(store, registry):
    store.add("dcgan", "bce", (40.0,))
    killed = store.add("sngan", "hinge", (35.0,), status="KILLED")  # interrupted after an evaluation: ranked
    store.add("wgan", "wasserstein", (20.0,), status="FAILED")
    store.add("wgan-gp", "wasserstein", (20.0,), status=None)  # still RUNNING
    store.add("sagan", "hinge", (0.05,), metric="kid")  # finished without fid
    store.add("acgan", "bce", (), status="KILLED")  # interrupted before any evaluation
    store.add("cdcgan", "bce", (float("nan"),))
    board = only_board(store, registry)
    assert [row.best_run for row in board.rankings[0].rows][0] == killed
    assert {row.model for row in board.rankings[0].rows} == {"dcgan", "sngan"}
    assert board.left_out == {"failed": 1, "still running": 1, "no fid logged": 2, "no finite fid value": 1}
    assert "Left out: 5 runs (1 failed, 2 no fid logged, 1 no finite fid value, 1 still running)." in rendered([board])


def test_study_parent_runs_are_ignored_and_their_trials_count(store, registry):
    parent = store.add("dcgan", "bce", (5.0,), tags={"ganbench.kind": "study"})
    trial = store.add("dcgan", "bce", (30.0,), tags={"mlflow.parentRunId": parent})
    store.add("dcgan", "bce", (40.0,), tags={"mlflow.parentRunId": parent}, params={"lr_g": "0.001"})
    board = only_board(store, registry)
    (row,) = board.rankings[0].rows
    assert (row.best, row.best_run, row.runs) == (30.0, trial, 2)
    assert board.left_out == {}


def test_every_experiment_with_runs_gets_a_leaderboard_unless_one_is_asked_for(store, registry):
    store.add(dataset="shapes")
    store.add(dataset="mnist")
    store.client.create_experiment("empty")
    assert sorted(b.dataset for b in load_leaderboards(store.uri, "fid", registry)) == ["mnist", "shapes"]
    assert [b.dataset for b in load_leaderboards(store.uri, "fid", registry, "mnist")] == ["mnist"]
    with pytest.raises(ConfigError, match="Experiments with runs: mnist, shapes"):
        load_leaderboards(store.uri, "fid", registry, "cifar10")


def test_an_unknown_metric_is_a_config_error_naming_the_known_ones(store, registry):
    store.add()
    with pytest.raises(ConfigError, match=r"Did you mean 'fid'\?.*Known metrics: (\S+, )*fid, (\S+, )*is, (\S+, )*kid"):
        load_leaderboards(store.uri, "fdi", registry)


def test_a_store_not_yet_created_has_no_leaderboards_and_stays_uncreated(tmp_path, registry):
    uri = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    assert load_leaderboards(uri, "fid", registry) == []
    assert not (tmp_path / "results").exists()
    message = no_runs_message([], "fid", uri)
    assert "`ganbench run`" in message and "`ganbench search`" in message


def test_with_no_run_of_the_metric_the_message_names_the_metrics_logged(store, registry):
    store.add(values=(12.0,), metric="proxy-fid", key="proxy_fid")
    store.add(values=(40.0,), status="FAILED")
    board = only_board(store, registry)
    assert board.rankings == [] and board.other_metrics == ["proxy-fid"]
    message = no_runs_message([board], "fid", store.uri)
    assert "pass --metric proxy-fid" in message
    assert "shapes: Left out: 2 runs (1 failed, 1 no fid logged)." in message


def test_export_writes_a_markdown_table_with_its_header_line_and_a_csv(store, registry, tmp_path):
    best = store.add("sngan", "hinge", (30.0,))
    store.add("dcgan", "bce", (40.0,), seed=0)
    store.add("dcgan", "bce", (44.0,), seed=1)
    store.add("wgan", "wasserstein", (20.0,), status="FAILED")
    boards = load_leaderboards(store.uri, "fid", registry)
    markdown, table = export_leaderboards(boards, tmp_path / "out" / "shapes.md", "ganbench leaderboard --export x")
    assert (markdown, table) == (tmp_path / "out" / "shapes.md", tmp_path / "out" / "shapes.csv")

    lines = markdown.read_text().splitlines()
    header = lines[0]
    for part in ("**shapes**", "fid (lower is better)", PROTOCOL, "`ganbench leaderboard --export x`"):
        assert part in header
    assert datetime.now().strftime("%Y-%m-%d") in header
    assert lines[2].startswith("| # | tier | model | loss | best fid | mean ± sd over seeds | 95% CI of the mean |")
    assert lines[4] == f"| 1 | 1 | sngan | hinge | 30 | — | — | 1 | — | 1.00 | {best} |"
    assert lines[5].startswith("| 2 | 1 | dcgan | bce | 40 | 42 ± 2.8 (2 seeds) | [16.6, 67.4] | 2 |")
    assert "dcgan/bce vs sngan/hinge: tied: sngan/hinge has 1 run," in markdown.read_text()
    assert "Left out: 1 run (1 failed)." in lines

    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["rank"], r["model"], r["best"], r["protocol"]) for r in rows] == [
        ("1", "sngan", "30.0", PROTOCOL),
        ("2", "dcgan", "40.0", PROTOCOL),
    ]
    assert float(rows[1]["seed_mean"]) == pytest.approx(42.0) and rows[0]["seed_mean"] == ""
    assert float(rows[1]["seed_ci_low"]) == pytest.approx(16.59, abs=0.01) and rows[0]["seed_ci_low"] == ""
    assert [r["tier"] for r in rows] == ["1", "1"]
    assert rows[0]["best_run_id"] == best and rows[1]["cpu_hours"] == "2.0"


def test_markdown_says_when_tables_are_of_different_protocols(store, registry):
    store.add("dcgan", "bce", (40.0,))
    store.add("dcgan", "bce", (20.0,), protocol=OTHER_PROTOCOL)
    text = to_markdown(load_leaderboards(store.uri, "fid", registry), "cmd", datetime(2025, 1, 2, tzinfo=UTC))
    assert text.startswith("fid on shapes was computed under 2 protocols")
    assert text.count("| # | tier | model |") == 2 and "2025-01-02 00:00 UTC" in text


def ganbench(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ganbench_command(), *args], env=plugin_env(tmp_path), cwd=tmp_path, capture_output=True, text=True
    )


def test_cli_prints_the_ranking_and_exports_it(store, tmp_path):
    store.add("sngan", "hinge", (30.0,))
    store.add("dcgan", "bce", (40.0,))
    args = ["leaderboard", "--tracking-uri", store.uri, "--dataset", "shapes", "--metric", "fid"]
    result = ganbench([*args, "--export", "results/shapes.md"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.index("sngan") < result.stdout.index("dcgan")
    assert PROTOCOL in result.stdout
    csv_rows = (tmp_path / "results" / "shapes.csv").read_text().splitlines()
    assert len(csv_rows) == 3 and "sngan" in csv_rows[1]
    assert "--export results/shapes.md" in (tmp_path / "results" / "shapes.md").read_text()


def test_cli_refuses_an_unknown_metric_in_one_paragraph(store, tmp_path):
    store.add()
    result = ganbench(["leaderboard", "--tracking-uri", store.uri, "--metric", "fdi"], tmp_path)
    assert result.returncode == 2
    assert "--metric 'fdi'" in result.stderr and "Known metrics" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_flagged_best_values_carry_a_marker_explained_under_their_table(store, registry, tmp_path):
    flag = "rank-deficient covariance: 400 generated and 400 reference samples, fewer than 2 per feature dimension"
    store.add("dcgan", "bce", (40.0,), tags={"flags.fid": flag})
    store.add("sngan", "hinge", (30.0,), tags={"flags.fid": flag})
    store.add("wgan", "wasserstein", (50.0,))  # logged before runs recorded flags
    board = only_board(store, registry)
    assert [(row.model, row.flags) for row in board.rankings[0].rows] == [
        ("sngan", flag),
        ("dcgan", flag),
        ("wgan", ""),
    ]
    text = rendered([board])
    assert "30¹" in text and "40¹" in text and "50¹" not in text
    assert f"¹ {flag}" in text

    markdown, table = export_leaderboards([board], tmp_path / "shapes.md", "ganbench leaderboard --export x")
    lines = markdown.read_text().splitlines()
    assert lines[4].startswith("| 1 | 1 | sngan | hinge | 30¹ |")
    assert lines[6].startswith("| 3 | 1 | wgan | wasserstein | 50 |")
    assert f"¹ {flag}" in lines
    with table.open() as handle:
        assert [row["flags"] for row in csv.DictReader(handle)] == [flag, flag, ""]


def test_runs_logged_before_values_knew_their_data_are_ranked_apart_with_the_reason(store, registry, tmp_path):
    store.add("dcgan", values=(40.0,), dataset="imagefolder", legacy=True)
    store.add("wgan", loss="wasserstein", values=(30.0,), dataset="imagefolder", legacy=True)
    store.add("sngan", loss="hinge", values=(60.0,), dataset="imagefolder")
    (board,) = load_leaderboards(store.uri, "fid", registry)
    assert [(r.note, [row.model for row in r.rows]) for r in board.rankings] == [
        ("", ["sngan"]),
        (LEGACY_NOTE, ["wgan", "dcgan"]),
    ]
    out = io.StringIO()
    print_leaderboards([board], Console(file=out, width=200))
    assert "logged before ganbench recorded which data" in out.getvalue()
    markdown = to_markdown([board], "ganbench leaderboard", datetime(2026, 1, 1, tzinfo=UTC))
    assert markdown.count(LEGACY_NOTE) == 1
    markdown_path, csv_path = export_leaderboards([board], tmp_path / "board", "ganbench leaderboard")
    notes = [row["note"] for row in csv.DictReader(io.StringIO(csv_path.read_text()))]
    assert notes == ["", LEGACY_NOTE, LEGACY_NOTE]


def test_a_dataset_selects_its_folders_and_option_variants_and_nothing_else(store, registry):
    for experiment in ("imagefolder:cards", "imagefolder:lesions", "imagefolder:cards[channels=1]", "imagefolders"):
        store.add(dataset=experiment)
    store.add(dataset="cifar10[classes=cat,dog]")
    chosen = [board.dataset for board in load_leaderboards(store.uri, "fid", registry, "imagefolder")]
    assert chosen == ["imagefolder:cards", "imagefolder:cards[channels=1]", "imagefolder:lesions"]
    chosen = [board.dataset for board in load_leaderboards(store.uri, "fid", registry, "imagefolder:cards")]
    assert chosen == ["imagefolder:cards", "imagefolder:cards[channels=1]"]
    cats = load_leaderboards(store.uri, "fid", registry, "cifar10")
    assert [board.dataset for board in cats] == ["cifar10[classes=cat,dog]"]
    out = io.StringIO()
    print_leaderboards(cats, Console(file=out, width=200))
    assert "cifar10[classes=cat,dog]" in out.getvalue()  # shown as written, not read as rich markup
    unknown = r"nor a variant \(imagefolder:card\[<options>\]\)\. Experiments with runs: .*imagefolder:cards"
    with pytest.raises(ConfigError, match=unknown):
        load_leaderboards(store.uri, "fid", registry, "imagefolder:card")


def test_the_terminal_table_fits_80_columns_and_shows_only_the_hours_of_devices_used(store, registry):
    store.add("wgan-gp", "wasserstein", (40.0, 35.0), seed=0)
    store.add("wgan-gp", "wasserstein", (38.0,), seed=1)
    store.add("sngan", "hinge", (25.0,))
    console = Console(file=io.StringIO(), width=80)
    print_leaderboards([only_board(store, registry)], console)
    lines = console.file.getvalue().splitlines()
    (header,) = [line for line in lines if line.split()[:2] == ["model", "loss"]]
    assert "CPU h" in header and "GPU h" not in header  # no run used a GPU
    rows = [line for line in lines if line.lstrip().startswith(("sngan ", "wgan-gp "))]
    assert len(rows) == 2 and all(len(line) <= 80 for line in lines)
    assert "wasserstein" in rows[1]  # whole, not folded or cut


def add_seeds(store: Store, model: str, loss: str, values: list[float], **kwargs) -> None:
    for seed, value in enumerate(values):
        store.add(model, loss, (value,), seed=seed, **kwargs)


def test_rows_are_ordered_by_the_mean_over_seeds_and_grouped_in_tiers_with_the_reason(store, registry, tmp_path):
    add_seeds(store, "dcgan", "bce", [20.0, 21.0, 22.0, 23.0])
    add_seeds(store, "sngan", "hinge", [21.5, 20.5, 22.5, 24.0])  # interleaved with dcgan: tied
    add_seeds(store, "sagan", "hinge", [30.0, 31.0, 32.0, 33.0])  # every run worse than every dcgan run: apart
    add_seeds(store, "wgan", "wasserstein", [12.0, 40.0, 41.0, 42.0])  # the luckiest best run, the worst mean
    add_seeds(store, "acgan", "bce", [1.0], protocol=OTHER_PROTOCOL)  # another protocol: never compared
    board = only_board(store, registry)
    ranking = next(r for r in board.rankings if r.protocol == PROTOCOL)
    assert [(row.rank, row.tier, row.model, row.best) for row in ranking.rows] == [
        (1, 1, "dcgan", 20.0),
        (2, 1, "sngan", 20.5),
        (3, 2, "sagan", 30.0),
        (4, 2, "wgan", 12.0),
    ]
    labels = [row.label for row in ranking.rows]
    assert [(pair.first, pair.second) for pair in ranking.pairs] == [
        (a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]
    ]
    notes = tier_notes(ranking)
    assert notes[0] == TIERS_NOTE
    assert notes[1].startswith("sngan/hinge vs dcgan/bce: tied: Mann–Whitney p =")
    assert notes[2].startswith("sagan/hinge vs dcgan/bce: apart: Mann–Whitney p = 0.029 (4 vs 4 runs).")
    assert notes[2].endswith("P(dcgan/bce's run is better) = 1.00 [1.00, 1.00].")
    assert notes[3].startswith("wgan/wasserstein vs sagan/hinge: tied")  # against the first of its tier
    assert "P(sagan/hinge's run is better) = 0.75" in notes[3]
    assert "sngan/hinge vs dcgan/bce: tied" in rendered([board])
    markdown, table = export_leaderboards([board], tmp_path / "board.md", "cmd")
    assert "| 4 | 2 | wgan | wasserstein | 12 | 33.75 ± 15 (4 seeds) | [10.6, 56.9] |" in markdown.read_text()
    with table.open() as handle:
        assert [row["tier"] for row in csv.DictReader(handle)] == ["1", "1", "2", "2", "1"]


def test_three_seeds_each_leave_two_clearly_different_models_in_one_tier_and_say_why(store, registry):
    add_seeds(store, "dcgan", "bce", [20.0, 21.0, 22.0])
    add_seeds(store, "sngan", "hinge", [40.0, 41.0, 42.0])
    ranking = only_board(store, registry).rankings[0]
    assert [row.tier for row in ranking.rows] == [1, 1]
    assert "3 vs 3 runs cannot reach p < 0.05 (the smallest possible is 0.1); 4+ each can" in tier_notes(ranking)[1]
    add_seeds(store, "dcgan", "bce", [19.0, 20.0, 21.0, 22.0])  # seeds 0-3 again: one more seed each
    store.add("sngan", "hinge", (43.0,), seed=3)
    ranking = only_board(store, registry).rankings[0]
    assert [row.tier for row in ranking.rows] == [1, 2]


def test_a_leaderboard_of_single_seeds_says_it_cannot_tell_models_apart(store, registry):
    store.add("dcgan", "bce", (20.0,))
    store.add("sngan", "hinge", (40.0,))
    ranking = only_board(store, registry).rankings[0]
    assert [row.tier for row in ranking.rows] == [1, 1]
    assert tier_notes(ranking) == [ONE_SEED_EACH]


def test_search_trials_give_each_row_a_budget_curve_drawn_beside_the_export(store, registry, tmp_path):
    for trial, value in enumerate([60.0, 40.0, 50.0]):
        store.add("dcgan", "bce", (value,), params={"lr_g": f"{trial}e-4"}, tags={"ganbench.study": "d"}, hours=0.5)
    store.add("wgan", "wasserstein", (45.0,), tags={"ganbench.study": "w"}, hours=0.5)
    store.add("sngan", "hinge", (30.0,))  # a plain run: no search, no curve
    store.add("dcgan", "bce", (1.0,), tags={"ganbench.study": "d"}, protocol=OTHER_PROTOCOL)  # never in the curve
    board = only_board(store, registry)
    ranking = next(r for r in board.rankings if r.protocol == PROTOCOL)
    dcgan = next(budget for budget in ranking.budgets if budget.label == "dcgan/bce")
    assert [budget.label for budget in ranking.budgets] == ["dcgan/bce", "wgan/wasserstein"]  # in row order
    assert dcgan.curve.trials == 3 and dcgan.curve.expected[0] == pytest.approx(50.0)
    assert dcgan.hours_per_trial == pytest.approx(0.5) and dcgan.studies == 1
    notes = budget_notes(ranking, "fid")
    assert notes[1].startswith("dcgan/bce: 3 trials of 0.5 h: 1 → 50 [40, 60] · 3 → ")
    assert notes[2] == "wgan/wasserstein: 1 trial of 0.5 h: 1 → 45 [45, 45]."
    written = export_leaderboards([board], tmp_path / "board.md", "cmd")
    assert [path.name for path in written] == ["board.md", "board.csv", "board-budget.png", "board-budget-2.png"]
    assert written[2].read_bytes().startswith(b"\x89PNG")
    assert "![budget curves of shapes](board-budget.png)" in written[0].read_text()


def test_confirmation_runs_replace_the_searchs_picked_trial_in_the_seed_statistics(store, registry):
    trial = {"ganbench.study": "dcgan-shapes-fid"}
    store.add("dcgan", "bce", (30.0,), params={"lr_g": "0.001"}, tags=trial)  # the search's best, picked
    store.add("dcgan", "bce", (45.0,), params={"lr_g": "0.0002"}, tags=trial)
    for seed, value in [(1, 38.0), (2, 41.0)]:
        store.add("dcgan", "bce", (value,), seed=seed, params={"lr_g": "0.001"}, tags={"ganbench.confirms": "d"})
    (row,) = only_board(store, registry).rankings[0].rows
    assert (row.best, row.seeds, row.seed_values, row.runs) == (30.0, 2, (38.0, 41.0), 4)
    assert row.mean_value == pytest.approx(39.5)
