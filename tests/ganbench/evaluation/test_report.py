"""Metric values in the terminal: each value once, without its own name; protocols and caveats as footnotes."""

from ganbench.evaluation.evaluator import MetricResult, Protocol
from ganbench.evaluation.report import Footnotes, value_text

PROTOCOL = Protocol("inception-v3-compat", "0eedee2f12345678", 5000, 10000, "cifar10/test", 32)


def test_a_value_is_printed_once_without_its_name() -> None:
    assert value_text(MetricResult("fid", {"fid": 45.4912}, PROTOCOL)) == "45.49"
    assert value_text(MetricResult("kid", {"kid": 0.08772, "kid_std": 0.00123}, PROTOCOL)) == "0.08772 ± 0.0012"
    proxy = MetricResult("proxy-acc", {"proxy_acc": 0.2734, "proxy_acc_real": 0.599}, PROTOCOL)
    assert value_text(proxy) == "0.2734 (real 0.599)"
    prc = MetricResult("prc", {"precision": 0.61, "recall": 0.42}, PROTOCOL)
    assert value_text(prc) == "precision 0.61, recall 0.42"


def test_caveats_get_numbers_and_a_shared_protocol_is_told_once() -> None:
    flagged = MetricResult("fid", {"fid": 1.0}, PROTOCOL, flags=("few samples",))
    plain = MetricResult("kid", {"kid": 0.1}, PROTOCOL)
    notes = Footnotes([flagged, plain])
    assert (notes.marks(flagged), notes.marks(plain)) == ("¹", "")
    assert notes.lines() == [f"protocol: {PROTOCOL.describe()}", "¹ few samples"]


def test_why_a_value_is_missing_is_a_footnote_not_a_paragraph_in_the_table() -> None:
    missing = MetricResult("is", None, PROTOCOL, unavailable="the Inception weights have no logits layer")
    flagged = MetricResult("fid", {"fid": 1.0}, PROTOCOL, flags=("few samples",))
    notes = Footnotes([flagged, missing])
    assert (notes.unavailable(missing), notes.marks(flagged)) == ("unavailable²", "¹")
    assert notes.lines()[-1] == "² is unavailable: the Inception weights have no logits layer"
