"""Funnel plot limits worked by hand (Spiegelhalter 2005, appendix A.1: the exact binomial or Poisson
quantile, interpolated between counts), and organisations placed against them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from icsys.reports.funnel import binomial_limit, funnel, poisson_limit


def test_binomial_limits_of_ten_around_a_half() -> None:
    # Binomial(10, 0.5): F(1) = 11/1024, F(2) = 56/1024, F(7) = 968/1024, F(8) = 1013/1024.
    # Lower 95 %: r = 2 (F(2) >= 0.025), a = (56/1024 - 0.025) / (45/1024) = 0.67556, limit (2 - a) / 10.
    assert binomial_limit(10, 0.5, 0.025) == pytest.approx((2 - (56 - 25.6) / 45) / 10)  # 0.13244
    # Upper 95 %: r = 8 (F(8) >= 0.975 > F(7)), a = (1013 - 998.4) / 45 = 0.32444, limit (8 - a) / 10.
    assert binomial_limit(10, 0.5, 0.975) == pytest.approx((8 - (1013 - 998.4) / 45) / 10)  # 0.76756
    # Lower 99.8 %: F(0) = 1/1024 < 0.001 <= F(1), so r = 1, a = (11 - 1.024) / 10 = 0.9976: limit 0.00024.
    assert binomial_limit(10, 0.5, 0.001) == pytest.approx((1 - (11 - 1.024) / 10) / 10)


def test_poisson_limits_of_an_expected_two() -> None:
    # Poisson(2): F(4) = 7 e^-2, F(5) = (7 + 4/15) e^-2. Upper 95 %: r = 5,
    # a = (F(5) - 0.975) / (F(5) - F(4)), limit (5 - a) / 2 as a ratio to the expected count.
    f4, f5 = 7 * math.exp(-2), (7 + 4 / 15) * math.exp(-2)
    assert poisson_limit(2, 0.975) == pytest.approx((5 - (f5 - 0.975) / (f5 - f4)) / 2)  # 2.3831
    assert poisson_limit(2, 0.025) == 0  # F(0) = 0.135 >= 0.025 and the interpolation falls below 0: kept at 0


def test_organisations_placed_on_the_funnel() -> None:
    # 5 of 10, 50 of 100, 90 of 100 and 2 of 4: centre 147 / 214 = 68.7 %. D rests on 4 patients and is
    # not placed; B (50 %) lies below and C (90 %) above the 99.8 % limits for 100 around 0.687.
    frame = pd.DataFrame({"org": ["A", "B", "C", "D"], "numerator": [5, 50, 90, 2], "denominator": [10, 100, 100, 4]})
    centre, points = funnel(frame, "proportion", 100)
    assert centre == pytest.approx(100 * 147 / 214)
    by = points.set_index("org")
    assert by.loc["D", "position"] == "small number"  # 4 patients: not placed
    assert by.loc["B", "position"] == "below 99.8 % limit" and by.loc["C", "position"] == "above 99.8 % limit"
    assert by.loc["A", "position"] == "within the limits"
    assert by.loc["B", "lower_95"] == pytest.approx(100 * binomial_limit(100, 147 / 214, 0.025))
