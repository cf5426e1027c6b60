"""The end-of-run summary: each metric's best and final value beside its protocol and caveats."""

import io
from pathlib import Path

from rich.console import Console

from ganbench.evaluation.evaluator import MetricResult, Protocol
from ganbench.training.loop import Evaluation, Outcome
from ganbench.training.summary import print_summary

PROTOCOL = Protocol("inception-v3-compat", "abcdef1234567890", 400, 400, "shapes/train", 32)
FLAG = "rank-deficient covariance: 400 generated and 400 reference samples, fewer than 2 per feature dimension"


def _outcome(*evaluations: Evaluation) -> Outcome:
    return Outcome("run1", "FINISHED", 20, 20, 61.0, 100.0, list(evaluations), Path("run"), None, "sqlite:///x.db")


def _printed(outcome: Outcome) -> str:
    console = Console(file=io.StringIO(), width=400)
    print_summary(outcome, console)
    return console.file.getvalue()


def test_flagged_values_are_printed_with_their_flags_and_plain_ones_without():
    def results(fid: float) -> list[MetricResult]:
        return [
            MetricResult("fid", {"fid": fid}, PROTOCOL, flags=(FLAG, "biased by the sample count")),
            MetricResult("kid", {"kid": fid / 1000, "kid_std": 0.01}, PROTOCOL),
        ]

    text = _printed(_outcome(Evaluation(10, results(80.0)), Evaluation(20, results(90.0))))
    (fid_line,) = [line for line in text.splitlines() if line.strip("│ ").startswith("fid")]
    (kid_line,) = [line for line in text.splitlines() if line.strip("│ ").startswith("kid")]
    assert "80 (step 10)" in fid_line and "90 (step 20)" in fid_line
    assert f"{PROTOCOL.describe()}; {FLAG}; biased by the sample count" in fid_line
    assert PROTOCOL.describe() in kid_line and "rank-deficient" not in kid_line and "biased" not in kid_line
