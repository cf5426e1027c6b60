"""The statistics behind a comparison, against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.statistics import budget_curve, compare_pair, smallest_p_value, summarize_seeds, tiers


def test_a_seed_interval_is_the_student_t_interval_of_the_mean():
    summary = summarize_seeds([10.0, 12.0, 14.0])
    assert (summary.mean, summary.sd) == (12.0, 2.0)
    half = 4.302652729911275 * 2.0 / math.sqrt(3)  # t(0.975, df=2) × sd / √n
    assert (summary.interval.low, summary.interval.high) == pytest.approx((12.0 - half, 12.0 + half))


def test_one_seed_has_a_mean_but_no_interval_and_says_why():
    summary = summarize_seeds([7.5])
    assert (summary.mean, summary.sd, summary.interval) == (7.5, None, None)
    assert "one seed" in summary.why_no_interval


def test_seeds_that_agree_have_a_zero_width_interval():
    summary = summarize_seeds([3.0, 3.0, 3.0])
    assert (summary.sd, summary.interval.low, summary.interval.high) == (0.0, 3.0, 3.0)


def test_a_pair_clearly_apart_lower_is_better():
    # every one of the 16 pairs won by the first: U = 16, P = 1; exact p = 2 / C(8, 4) = 2/70
    pair = compare_pair("a", [10.0, 11.0, 12.0, 13.0], "b", [20.0, 21.0, 22.0, 23.0], higher=False)
    assert pair.first_wins == 1.0 and pair.apart
    assert pair.p_value == pytest.approx(2 / 70)
    assert pair.why.startswith("apart: Mann–Whitney p = 0.029 (4 vs 4 runs)")


def test_the_direction_decides_who_wins():
    low = compare_pair("a", [10.0, 11.0, 12.0, 13.0], "b", [20.0, 21.0, 22.0, 23.0], higher=True)
    assert low.first_wins == 0.0 and low.apart


def test_an_interleaved_pair_is_tied_and_its_win_probability_counts_ties_half():
    a, b = [10.0, 13.0, 15.0, 18.0], [11.0, 13.0, 16.0, 17.0]
    # lower wins; pairs a<b: 10 beats all 4, 13 beats 16, 17 and ties 13, 15 beats 16, 17, 18 beats none
    pair = compare_pair("a", a, "b", b, higher=False)
    assert pair.first_wins == pytest.approx((4 + 2.5 + 2 + 0) / 16)
    assert not pair.apart and pair.p_value > 0.5
    assert pair.interval.low < pair.first_wins < pair.interval.high
    assert pair.why.startswith("tied: Mann–Whitney p =")


def test_three_seeds_each_can_never_separate_and_it_says_so():
    assert smallest_p_value(3, 3) == pytest.approx(0.1) and smallest_p_value(4, 4) < 0.05
    pair = compare_pair("a", [1.0, 2.0, 3.0], "b", [7.0, 8.0, 9.0], higher=False)
    assert pair.first_wins == 1.0 and pair.p_value == pytest.approx(0.1) and not pair.apart
    assert "3 vs 3 runs cannot reach p < 0.05 (the smallest possible is 0.1); 4+ each can" in pair.why


def test_a_model_with_one_run_is_never_told_apart_and_no_interval_is_made_up():
    pair = compare_pair("a", [1.0], "b", [7.0, 8.0, 9.0], higher=False)
    assert (pair.apart, pair.interval, pair.p_value) == (False, None, None)
    assert pair.first_wins == 1.0 and "a has 1 run" in pair.why


def test_the_answers_are_reproducible():
    a, b = [10.0, 13.0, 15.0, 18.0, 9.0], [11.0, 13.5, 16.0, 17.0, 12.0]
    assert compare_pair("a", a, "b", b, False) == compare_pair("a", a, "b", b, False)


def test_tiers_open_where_a_model_is_apart_from_the_tiers_first():
    ranked = [
        ("a", [10.0, 11.0, 12.0, 13.0]),
        ("b", [11.5, 12.5, 10.5, 14.0]),  # interleaved with a: tier 1
        ("c", [20.0, 21.0, 22.0, 23.0]),  # apart from a: opens tier 2
        ("d", [30.0]),  # one run: cannot be told from c
    ]
    found = tiers(ranked, higher=False)
    assert [tier.members for tier in found] == [("a", "b"), ("c", "d")]
    assert [pair.second for pair in found[1].against_first] == ["d"]
    assert tiers([], higher=False) == [] and [t.members for t in tiers([("x", [1.0])], False)] == [("x",)]


def test_the_budget_curve_is_the_expected_best_of_k_trials_drawn_with_replacement():
    # lower is better, trials 10, 20, 30, 40: P(best of 2 = 10) = 1 - (3/4)^2 = 7/16, = 20: (3/4)^2 - (2/4)^2 = 5/16,
    # = 30: (2/4)^2 - (1/4)^2 = 3/16, = 40: 1/16
    curve = budget_curve([40.0, 10.0, 30.0, 20.0], higher=False)
    assert curve.trials == 4
    assert curve.expected[0] == pytest.approx(25.0)
    assert curve.expected[1] == pytest.approx((7 * 10 + 5 * 20 + 3 * 30 + 40) / 16)
    assert list(curve.expected) == sorted(curve.expected, reverse=True)  # more trials, no worse
    assert (curve.low[0], curve.high[0]) == (10.0, 40.0)
    # the best of 4 is 40 with (1/4)^4 < 2.5%, 30 or worse with (2/4)^4 = 6%: the band's worse end is 30
    assert (curve.low[3], curve.high[3]) == (10.0, 30.0)


def test_the_budget_curve_agrees_with_resampling_and_with_direction():
    values = [0.3, 0.9, 0.5, 0.7, 0.1]
    curve = budget_curve(values, higher=True)
    draws = np.random.default_rng(0).choice(values, size=(200_000, 3)).max(axis=1)
    assert curve.expected[2] == pytest.approx(draws.mean(), abs=0.003)
    assert curve.expected[0] == pytest.approx(np.mean(values)) and curve.expected[-1] < 0.9


def test_a_budget_curve_of_one_trial_is_that_trial():
    curve = budget_curve([42.0], higher=False)
    assert (curve.trials, curve.expected, curve.low, curve.high) == (1, (42.0,), (42.0,), (42.0,))
