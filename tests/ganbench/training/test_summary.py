"""The end-of-run summary: each metric's best and final value, its protocol and caveats as footnotes, in 80 columns."""

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


def _printed(outcome: Outcome, width: int = 400) -> str:
    console = Console(file=io.StringIO(), width=width)
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
    assert "80¹² (step 10)" in fid_line and "90¹² (step 20)" in fid_line
    assert "0.08 ± 0.01 (step 10)" in kid_line and "¹" not in kid_line and "²" not in kid_line
    lines = text.splitlines()
    assert f"protocol: {PROTOCOL.describe()}" in lines  # shared by every value: printed once
    assert f"¹ {FLAG}" in lines and "² biased by the sample count" in lines


def test_values_of_different_protocols_carry_a_letter_each():
    other = Protocol("inception-v3-compat", "abcdef1234567890", 400, 400, "shapes[size=256]/train", 32)
    evaluation = Evaluation(
        10, [MetricResult("fid", {"fid": 80.0}, PROTOCOL), MetricResult("kid", {"kid": 0.1}, other)]
    )
    lines = _printed(_outcome(evaluation)).splitlines()
    assert f"[a] {PROTOCOL.describe()}" in lines and f"[b] {other.describe()}" in lines
    (kid_line,) = [line for line in lines if line.strip("│ ").startswith("kid")]
    assert "0.1 [b] (step 10)" in kid_line


def test_the_summary_fits_80_columns_without_folding_a_value():
    results = [
        MetricResult("fid", {"fid": 187.6123}, PROTOCOL, flags=(FLAG,)),
        MetricResult("kid", {"kid": 0.1241, "kid_std": 0.0042}, PROTOCOL),
        MetricResult("is", {"is": 2.31, "is_std": 0.05}, PROTOCOL),
    ]
    text = _printed(_outcome(Evaluation(250, results), Evaluation(1000, results)), width=80)
    table = [line for line in text.splitlines() if line.startswith(("│", "┃"))]
    assert len(table) == 4  # the header and one line per metric: nothing folded onto a second line
