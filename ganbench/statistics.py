"""How sure a comparison is: an interval over seeds, the chance that one model's run beats another's, tiers of
models that cannot be told apart, and the expected best value after k trials of a search.

Pure functions of numbers, each saying how many values it rests on and, when they are too few to say
anything, why instead of a number. Every resampling is seeded, so one set of values gives one answer.

The choices, for a reviewer:

- Seeds: a Student t interval of the mean (scipy's ``ttest_1samp``), as GAN papers report "mean ± CI".
- Pairs: the probability of superiority, P(a run of A beats a run of B), ties counting half, which is the
  Mann–Whitney U statistic over the number of pairs. Whether A and B are apart is decided by the exact
  two-sided Mann–Whitney test on that same U (permutations, so ties are handled exactly): it makes no
  normality assumption about FID over seeds, and it is honest about few seeds. With 3 runs each no outcome
  can reach p < 0.05 (the smallest possible p is 0.10), so three seeds never separate two models; four can.
  The interval of the probability is a percentile bootstrap (scipy's ``bootstrap``), shown for its width:
  with a handful of runs a bootstrap interval is too narrow, which is why it does not decide.
- Tiers: models in ranking order; a model joins the current tier when the test cannot tell it from the
  tier's first model, else it opens the next tier. No correction for the several tests is made: a tier
  boundary is a 5% statement about one pair, not about the whole table.
- Budget curves (Lucic et al. 2018, "Are GANs Created Equal?"): the best value of a study of k trials drawn
  with replacement from the trials run. Its expectation and quantiles come from the exact distribution of
  that maximum (the limit of resampling, without its noise, as in Dodge et al. 2019, "Show Your Work"); the
  band is where 95% of such studies end, i.e. how lucky or unlucky one study of k trials can be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
RESAMPLES = 9999
RESAMPLING_SEED = 0
FEWEST_FOR_AN_INTERVAL = 2


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float = CONFIDENCE

    def text(self, digits: int = 3, style: str = "g") -> str:
        return f"[{self.low:.{digits}{style}}, {self.high:.{digits}{style}}]"

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class SeedSummary:
    """The values of one configuration's seeds: their mean, and with two or more, sd and a 95% interval."""

    values: tuple[float, ...]
    mean: float
    sd: float | None
    interval: Interval | None
    why_no_interval: str = ""


def summarize_seeds(values: Sequence[float]) -> SeedSummary:
    """Mean, sample sd and a Student t 95% interval of the mean of ``values`` (one value per seed)."""
    if not values:
        raise ValueError("summarize_seeds needs at least one value")
    data = tuple(float(v) for v in values)
    mean = float(np.mean(data))
    if len(data) < FEWEST_FOR_AN_INTERVAL:
        return SeedSummary(data, mean, None, None, "one seed: an interval needs at least 2")
    sd = float(np.std(data, ddof=1))
    if sd == 0:  # every seed gave the same value; t has nothing to scale
        return SeedSummary(data, mean, 0.0, Interval(mean, mean))
    found = stats.ttest_1samp(data, popmean=mean).confidence_interval(CONFIDENCE)
    return SeedSummary(data, mean, sd, Interval(float(found.low), float(found.high)))


@dataclass(frozen=True)
class PairComparison:
    """Runs of ``first`` against runs of ``second`` (each a model's seeds under one protocol)."""

    first: str
    second: str
    runs: tuple[int, int]
    first_wins: float  # P(a run of first beats a run of second), ties counting half
    interval: Interval | None  # percentile bootstrap of first_wins
    p_value: float | None  # exact two-sided Mann–Whitney
    apart: bool
    why: str  # the sentence behind `apart`


def beats(a: np.ndarray, b: np.ndarray, higher: bool) -> np.ndarray:
    """The share of pairs (a run of a, a run of b) that a wins, ties counting half, along the last axis."""
    first, second = (a, b) if higher else (-a, -b)
    x, y = first[..., :, None], second[..., None, :]
    return ((x > y).astype(float) + 0.5 * (x == y)).mean(axis=(-2, -1))


def smallest_p_value(n_first: int, n_second: int) -> float:
    """The smallest two-sided p an exact Mann–Whitney test can give for these sizes (complete separation)."""
    return min(1.0, 2 / math.comb(n_first + n_second, n_first))


def compare_pair(
    first: str, first_values: Sequence[float], second: str, second_values: Sequence[float], higher: bool
) -> PairComparison:
    """Whether ``first`` and ``second`` can be told apart from their runs, and how often one's run wins."""
    a, b = np.asarray(first_values, dtype=float), np.asarray(second_values, dtype=float)
    if not (len(a) and len(b)):
        raise ValueError("compare_pair needs at least one run of each model")
    runs = (len(a), len(b))
    if min(runs) < FEWEST_FOR_AN_INTERVAL:
        few = first if len(a) <= len(b) else second
        why = f"tied: {few} has {min(runs)} run, and telling models apart needs 2+ each"
        return PairComparison(first, second, runs, float(beats(a, b, higher)), None, None, False, why)
    wins = float(beats(a, b, higher))
    rng = np.random.default_rng(RESAMPLING_SEED)
    test = stats.mannwhitneyu(a, b, method=stats.PermutationMethod(n_resamples=RESAMPLES, rng=rng))
    p = float(test.pvalue)
    boot = stats.bootstrap(
        (a, b),
        lambda x, y, axis: beats(np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1), higher),
        vectorized=True,
        method="percentile",
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        rng=rng,
    )
    interval = Interval(float(boot.confidence_interval.low), float(boot.confidence_interval.high))
    sizes = f"{runs[0]} vs {runs[1]} runs"
    if p < ALPHA:
        why = f"apart: Mann–Whitney p = {p:.2g} ({sizes})"
    elif (smallest := smallest_p_value(*runs)) >= ALPHA:
        why = f"tied: {sizes} cannot reach p < {ALPHA:.2g} (the smallest possible is {smallest:.2g}); 4+ each can"
    else:
        why = f"tied: Mann–Whitney p = {p:.2g} ({sizes})"
    return PairComparison(first, second, runs, wins, interval, p, p < ALPHA, why)


@dataclass(frozen=True)
class Tier:
    """Models that cannot be told apart from the tier's first, in ranking order."""

    number: int
    members: tuple[str, ...]
    against_first: tuple[PairComparison, ...]  # the first model against each other member


def tiers(ranked: Sequence[tuple[str, Sequence[float]]], higher: bool) -> list[Tier]:
    """Group ``ranked`` (name and run values, best first) into tiers; see the module's docstring."""
    found: list[Tier] = []
    leader, members, pairs = None, [], []
    for name, values in ranked:
        if leader is not None:
            pair = compare_pair(leader[0], leader[1], name, values, higher)
            if not pair.apart:
                members.append(name)
                pairs.append(pair)
                continue
            found.append(Tier(len(found) + 1, tuple(members), tuple(pairs)))
        leader, members, pairs = (name, values), [name], []
    if leader is not None:
        found.append(Tier(len(found) + 1, tuple(members), tuple(pairs)))
    return found


@dataclass(frozen=True)
class BudgetCurve:
    """The best value of a study of k trials (k = 1..n), drawn from the n trials run."""

    trials: int
    expected: tuple[float, ...]  # index k-1: after k trials
    low: tuple[float, ...]  # the band (numerically low, high) where 95% of studies of k trials end
    high: tuple[float, ...]


def budget_curve(values: Sequence[float], higher: bool) -> BudgetCurve:
    """Expected best after k trials and its 95% band, from each trial's value; see the module's docstring."""
    if not values:
        raise ValueError("budget_curve needs at least one trial's value")
    ordered = np.sort(np.asarray(values, dtype=float))  # ascending: the best of k is the max when higher
    if not higher:
        ordered = ordered[::-1]  # ascending in goodness: the best of k is the last
    n = len(ordered)
    share = np.arange(n + 1) / n  # P(a draw is no better than the i-th) = i / n
    expected, low, high = [], [], []
    for k in range(1, n + 1):
        below = share**k  # P(the best of k is no better than the i-th), i = 0..n
        expected.append(float(np.dot(ordered, np.diff(below))))
        unlucky = ordered[np.searchsorted(below[1:], ALPHA / 2)]
        lucky = ordered[np.searchsorted(below[1:], 1 - ALPHA / 2)]
        low.append(float(min(unlucky, lucky)))
        high.append(float(max(unlucky, lucky)))
    return BudgetCurve(n, tuple(expected), tuple(low), tuple(high))
