"""Each special cause rule on its own: a vector in, a vector out (as NHSRplotthedots tests its rules).

Where a case comes from NHSRplotthedots' own rule tests or issues, the test says so."""

from __future__ import annotations

import numpy as np
import pytest

from icsys.performance import spc_rules as r


def v(*xs: float) -> list[float]:
    return list(xs)


# --- moving ranges and screening ------------------------------------------------------------------

def test_moving_ranges_start_with_none() -> None:
    out = r.moving_ranges([1, 10, 100, 50])
    assert np.isnan(out[0]) and out[1:].tolist() == [9, 90, 50]
    assert r.moving_ranges([]).tolist() == []


def test_screening_drops_ranges_of_3267_times_the_average_or_more_once() -> None:
    mr = np.array([np.nan, 1, 1, 1, 1, 1, 1, 1, 1, 1, 20])  # average 2.9; 20 >= 3.267 x 2.9
    assert r.screened(mr).tolist() == [False] + [True] * 9 + [False]
    # exactly at the threshold is screened out (kept only when strictly under)
    at = np.array([np.nan, 0.0, 0.0, 3.267 * 1.0])  # average 1.089: 3.267 < 3.267 x 1.089
    assert r.screened(at).tolist() == [False, True, True, True]
    # once: after dropping 20 the new average is 1, and 3.2 (>= 3.267 x 1? no) stays; nothing is re-screened
    twice = np.array([np.nan, 1, 1, 1, 1, 1, 1, 1, 1, 3.2, 40])
    assert r.screened(twice).tolist() == [False] + [True] * 9 + [False]


def test_screening_a_flat_line_keeps_every_range() -> None:
    assert r.screened(np.array([np.nan, 0, 0, 0])).tolist() == [False, True, True, True]


# --- outside the limits, two sigma ----------------------------------------------------------------

def test_outside_limits_is_strict_and_signed() -> None:
    assert r.outside_limits(v(0, 3, 3.1, -3, -3.1), -3, 3).tolist() == [0, 0, 1, 0, -1]


def test_beyond_two_sigma_with_and_without_points_beyond_the_limits() -> None:
    y = v(0, 2.5, 4, -2.5, -4, 2)
    between = r.beyond_two_sigma(y, -2, 2, -3, 3, include_outside=False)
    beyond = r.beyond_two_sigma(y, -2, 2, -3, 3, include_outside=True)
    assert between.tolist() == [0, 1, 0, -1, 0, 0]
    assert beyond.tolist() == [0, 1, 1, -1, -1, 0]


def test_side_of_mean() -> None:
    assert r.side_of_mean(v(1, 2, 3), 2).tolist() == [-1, 0, 1]


# --- shift: points on one side of the mean (NHSRplotthedots ptd_seven_point_one_side_mean) -------

@pytest.mark.parametrize(("side", "expected"), [
    ([], []),
    ([1] * 6, [0] * 6),
    ([1] * 6 + [-1], [0] * 7),
    ([1] * 8 + [-1], [1] * 8 + [0]),
    ([-1] * 8 + [1], [-1] * 8 + [0]),
    ([-1] + [1] * 8 + [-1], [0] + [1] * 8 + [0]),
    ([1] + [-1] * 8 + [1], [0] + [-1] * 8 + [0]),
])
def test_shift_of_seven(side: list[int], expected: list[int]) -> None:
    assert r.shift(side).tolist() == expected


def test_a_point_on_the_mean_breaks_a_shift_or_is_skipped() -> None:
    side = [1, 1, 1, 0, 1, 1, 1, 1]
    assert r.shift(side, on_mean="break").tolist() == [0] * 8
    assert r.shift(side, on_mean="skip").tolist() == [1, 1, 1, 1, 1, 1, 1, 1]
    # a point on the mean at either end of a run is not part of it
    assert r.shift([0] + [1] * 7 + [0], on_mean="skip").tolist() == [0] + [1] * 7 + [0]


def test_shift_length_and_flagging_from_the_point_that_completes_it() -> None:
    side = [-1] * 9
    assert r.shift(side, length=6).tolist() == [-1] * 9
    assert r.shift(side, length=7, flag="from_trigger").tolist() == [0] * 6 + [-1] * 3
    assert r.shift([-1] * 5, length=6).tolist() == [0] * 5


# --- trend: points each higher (lower) than the last (NHSRplotthedots ptd_seven_point_trend) ------

@pytest.mark.parametrize(("y", "expected"), [
    ([], []),
    (list(range(1, 7)), [0] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # a tie breaks the trend
    (list(range(1, 8)), [1] * 7),
    ([2, 1, 2, 3, 4, 5, 6, 7, 3], [0, 1, 1, 1, 1, 1, 1, 1, 0]),
    (list(range(7, 0, -1)), [-1] * 7),
    ([2, 7, 6, 5, 4, 3, 2, 1, 3], [0, -1, -1, -1, -1, -1, -1, -1, 0]),
])
def test_trend_of_seven(y: list[float], expected: list[int]) -> None:
    assert r.trend(y).tolist() == expected


def test_like_values_break_a_trend_or_neither_add_nor_break_it() -> None:
    y = [1, 2, 3, 3, 4, 5, 6, 7]  # seven different values rising, with one repeat
    assert r.trend(y, on_tie="break").tolist() == [0] * 8
    assert r.trend(y, on_tie="skip").tolist() == [1] * 8
    # like values at the start are not counted and not part of the trend
    assert r.trend([1, 1, 2, 3, 4, 5, 6, 7], on_tie="skip").tolist() == [0] + [1] * 7
    assert r.trend([1, 2, 2, 3, 4, 5, 6], on_tie="skip").tolist() == [0] * 7  # only six values


def test_a_rise_turning_into_a_fall_gives_the_peak_to_the_fall() -> None:
    y = list(range(1, 8)) + list(range(6, -1, -1))  # 1..7 then 6..0
    out = r.trend(y).tolist()
    assert out[:6] == [1] * 6 and out[6] == -1 and out[7:] == [-1] * 7


def test_trend_length_and_flagging_from_the_point_that_completes_it() -> None:
    y = list(range(10))
    assert r.trend(y, flag="from_trigger").tolist() == [0] * 6 + [1] * 4
    assert r.trend(list(range(6)), length=6).tolist() == [1] * 6


# --- two of three beyond two sigma (NHSRplotthedots ptd_two_in_three / ptd_part_of_two_in_three) --

@pytest.mark.parametrize(("near", "expected"), [
    ([], []),
    ([0, 0, 0], [0, 0, 0]),
    ([1, 0, 1], [1, 0, 1]),
    ([0, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [0, 0, 0, 1, 1]),
])
def test_two_in_three_above(near: list[int], expected: list[int]) -> None:
    side = [1] * len(near)
    assert r.two_in_three(near, side).tolist() == expected
    below = r.two_in_three([-x for x in near], [-1] * len(near))
    assert below.tolist() == [-x for x in expected]


def test_two_in_three_on_opposite_sides_is_no_signal() -> None:
    # NHSRplotthedots issue #143: one point near each limit is not special cause
    assert r.two_in_three([1, -1, 0], [1, -1, 1]).tolist() == [0, 0, 0]


def test_two_in_three_third_point_same_side_or_anywhere() -> None:
    near, side = [1, 0, 1], [1, -1, 1]  # the middle point is below the mean
    assert r.two_in_three(near, side, third="same_side").tolist() == [0, 0, 0]
    assert r.two_in_three(near, side, third="anywhere").tolist() == [1, 0, 1]


def test_two_in_three_marks_the_near_points_or_all_three() -> None:
    assert r.two_in_three([1, 0, 1], [1, 1, 1], flag="all_three").tolist() == [1, 1, 1]
    assert r.two_in_three([0, 1, 0, 1, 0], [1, 1, 1, 1, 1], flag="all_three").tolist() == [0, 1, 1, 1, 0]


def test_two_sigma_then_beyond_three_sigma() -> None:
    # Making Data Count's 2023 change (NHSRplotthedots issue #194): a point between two and three sigma
    # followed by one beyond the process limit. Counting only points inside the limits there is one near
    # point, so no 2 of 3; counting all points beyond two sigma, both are.
    y, lower, upper, lpl, upl = [0.5, 2.5, 4], -2, 2, -3, 3
    side = r.side_of_mean(y, 0)
    inside_only = r.beyond_two_sigma(y, lower, upper, lpl, upl, include_outside=False)
    all_beyond = r.beyond_two_sigma(y, lower, upper, lpl, upl, include_outside=True)
    assert r.two_in_three(inside_only, side).tolist() == [0, 0, 0]
    assert r.two_in_three(all_beyond, side).tolist() == [0, 1, 1]


# --- precedence ------------------------------------------------------------------------------------

def test_first_nonzero_follows_precedence() -> None:
    outside = np.array([0, 1, 0, 0], dtype=np.int8)
    trend = np.array([-1, -1, 0, 0], dtype=np.int8)
    shift = np.array([1, 1, 1, 0], dtype=np.int8)
    which, sign = r.first_nonzero([outside, trend, shift])
    assert which.tolist() == [1, 0, 2, -1]
    assert sign.tolist() == [-1, 1, 1, 0]


def test_two_beyond_the_limit_then_one_near_it() -> None:
    # NHSRplotthedots issue #153: beyond three sigma, beyond three sigma, then between two and three. Counting
    # only points inside the limits the last point has no partner; counting all points beyond two sigma
    # (Making Data Count since 2023) it is part of 2 of 3.
    y, lower, upper, lpl, upl = [3.5, 3.2, 2.5], -2, 2, -3, 3
    side = r.side_of_mean(y, 0)
    inside_only = r.two_in_three(r.beyond_two_sigma(y, lower, upper, lpl, upl, include_outside=False), side)
    all_beyond = r.two_in_three(r.beyond_two_sigma(y, lower, upper, lpl, upl, include_outside=True), side)
    assert inside_only.tolist() == [0, 0, 0]
    assert all_beyond.tolist() == [1, 1, 1]
