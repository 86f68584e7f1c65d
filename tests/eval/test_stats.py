"""The statistics against values computed by hand (and published tables)."""

from __future__ import annotations

from math import comb

import pytest

from loco_tui.eval.stats import (
    effective_members,
    jaccard,
    mcnemar_exact,
    mean_pairwise_jaccard,
    median,
    percentile,
    wilson,
)


@pytest.mark.parametrize(("only_a", "only_b", "p"), [
    (0, 0, 1.0),            # no discordant case: nothing to tell apart
    (0, 5, 2 / 32),         # 2 * (1/2)^5 = 0.0625: five of five still not below 0.05
    (0, 6, 2 / 64),         # 0.03125: six of six is
    (1, 9, 2 * 11 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2^10 = 0.021484375
    (2, 8, 2 * 56 / 1024),  # 2 * (1 + 10 + 45) / 2^10 = 0.109375
    (3, 3, 1.0),            # the tail passes the middle: capped at 1
    (4, 5, 1.0),            # 2 * 256/512 = 1
    (7, 2, 2 * 46 / 512),   # symmetric: the smaller count's tail, (1 + 9 + 36) / 2^9
])
def test_mcnemar_exact_p_values_by_hand(only_a, only_b, p):
    assert mcnemar_exact(only_a, only_b) == pytest.approx(p, rel=1e-12)
    assert mcnemar_exact(only_b, only_a) == pytest.approx(p, rel=1e-12)


def test_mcnemar_stays_exact_far_beyond_float_range():
    # 2^1300 overflows a float; exact integers do not.
    expected = 2 * sum(comb(1300, i) for i in range(601)) / 2**1300
    assert mcnemar_exact(600, 700) == pytest.approx(expected)
    assert 0 < mcnemar_exact(600, 700) < 0.01


def test_mcnemar_refuses_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (3, 4, 0.3006, 0.9544),   # Wilson's interval, z = 1.96
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (1, 1, 0.2065, 1.0),
])
def test_wilson_interval(k, n, low, high):
    found = wilson(k, n)
    assert found is not None
    assert found[0] == pytest.approx(low, abs=1e-4)
    assert found[1] == pytest.approx(high, abs=1e-4)
    assert 0.0 <= found[0] <= k / n <= found[1] <= 1.0


def test_wilson_without_trials_is_unknown_and_impossible_counts_are_refused():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_jaccard_of_word_tokens():
    assert jaccard("The answer is 7", "the ANSWER is 7.") == 1.0
    assert jaccard("a b c", "a b d") == pytest.approx(2 / 4)
    assert jaccard("", "") == 1.0
    assert jaccard("yes", "") == 0.0
    assert mean_pairwise_jaccard(["a b c", "a b d", "x"]) == pytest.approx((0.5 + 0 + 0) / 3)
    assert mean_pairwise_jaccard(["only one"]) is None


def test_effective_members():
    assert effective_members(3, 1.0) == pytest.approx(1.0)
    assert effective_members(3, 0.0) == pytest.approx(3.0)
    assert effective_members(3, 0.5) == pytest.approx(1.5)
    assert effective_members(0, 0.3) == 0.0


def test_median_and_p90_interpolate_between_ranks():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert percentile([float(v) for v in range(1, 11)], 0.9) == pytest.approx(9.1)
    assert median([]) is None
