"""Metric values for a terminal 80 columns wide: each value once, its protocol and caveats as footnotes.

A protocol shared by every value of a table is printed once under it; otherwise each value carries
a letter for its protocol. Caveats (a result's flags, or why it has no value) carry superscript
numbers. Superscripts and letters mean nothing to rich's markup, so no escaping is needed.
"""

from __future__ import annotations

from rich.console import Console

from ganbench.evaluation.evaluator import MetricResult

SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def value_text(result: MetricResult) -> str:
    """The result's values, its own name left out: ``45.49``; ``0.0877 ± 0.0012`` (a value with its sd);
    ``0.2734 (real 0.599)`` (a value with related ones); ``precision 0.61, recall 0.42`` (no main value)."""
    values = result.values or {}
    key = result.metric.replace("-", "_")
    if key not in values:
        return ", ".join(f"{name} {value:.4g}" for name, value in values.items())
    shown = f"{values[key]:.4g}"
    if f"{key}_std" in values:
        shown += f" ± {values[f'{key}_std']:.2g}"
    related = [(name, value) for name, value in values.items() if name not in (key, f"{key}_std")]
    if related:
        shown += " (" + ", ".join(f"{name.removeprefix(key + '_')} {value:.4g}" for name, value in related) + ")"
    return shown


def _caveats(result: MetricResult) -> list[str]:
    """What a value's reader must know: its flags, or why there is no value."""
    if result.values is None:
        return [*result.flags, f"{result.metric} unavailable: {result.unavailable or 'no reason was given'}"]
    return list(result.flags)


class Footnotes:
    """Markers for the protocols and caveats of a table's values, and the lines that explain them."""

    def __init__(self, results: list[MetricResult]) -> None:
        protocols = dict.fromkeys(r.protocol.describe() for r in results if r.protocol)
        self.shared_protocol = next(iter(protocols)) if len(protocols) == 1 else None
        self.protocol_marks = {} if self.shared_protocol else {p: chr(ord("a") + i) for i, p in enumerate(protocols)}
        caveats = dict.fromkeys(caveat for r in results for caveat in _caveats(r))
        self.caveat_marks = {flag: str(i).translate(SUPERSCRIPTS) for i, flag in enumerate(caveats, 1)}

    def marks(self, result: MetricResult) -> str:
        """What follows a value: its caveats' superscripts, then its protocol's letter in brackets."""
        caveats = "".join(self.caveat_marks[caveat] for caveat in _caveats(result))
        letter = self.protocol_marks.get(result.protocol.describe()) if result.protocol else None
        return caveats + (f" [{letter}]" if letter else "")

    def unavailable(self, result: MetricResult) -> str:
        """A result without values: ``unavailable³``, its reason in footnote 3."""
        return f"unavailable{self.marks(result)}"

    def lines(self) -> list[str]:
        shown = [f"protocol: {self.shared_protocol}"] if self.shared_protocol else []
        shown += [f"[{letter}] {protocol}" for protocol, letter in self.protocol_marks.items()]
        return shown + [f"{mark} {flag}" for flag, mark in self.caveat_marks.items()]

    def print(self, console: Console) -> None:
        for line in self.lines():
            console.print(line, markup=False, highlight=False)
