"""Confidence intervals against published examples and exact formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from icsys.population.confidence import byar, dobson, ratio_limits, wilson


@pytest.mark.parametrize(("x", "n", "lower", "upper"), [
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_matches_newcombe_1998(x: int, n: int, lower: float, upper: float) -> None:
    """Newcombe RG. Two-sided confidence intervals for the single proportion. Stat Med 1998;17:857-72,
    Table II, method 3 (score interval without continuity correction)."""
    low, high = wilson(np.array([x]), np.array([n]))
    assert low[0] == pytest.approx(lower, abs=6e-5) and high[0] == pytest.approx(upper, abs=6e-5)


@pytest.mark.parametrize("observed", [5, 10, 37, 100, 1000])
def test_byar_is_close_to_the_exact_poisson_interval(observed: int) -> None:
    low, high = byar(np.array([observed]))
    exact_low, exact_high = chi2.ppf(0.025, 2 * observed) / 2, chi2.ppf(0.975, 2 * observed + 2) / 2
    assert low[0] == pytest.approx(exact_low, rel=0.01) and high[0] == pytest.approx(exact_high, rel=0.001)


def test_ratio_limits_bracket_the_ratio() -> None:
    low, high = ratio_limits(np.array([40]), np.array([50.0]))
    assert low[0] < 0.8 < high[0] and high[0] < 1.1


def test_dobson_with_one_band_is_the_byar_rate_interval() -> None:
    rate, low, high = dobson(np.array([30]), np.array([1000]), np.array([1.0]))
    exact_low, exact_high = byar(np.array([30]))
    assert rate == pytest.approx(0.03)
    assert low == pytest.approx(exact_low[0] / 1000) and high == pytest.approx(exact_high[0] / 1000)


def test_dobson_weights_age_specific_rates() -> None:
    # Rates 1 % and 10 % in two bands weighted 3:1 give 0.75 * 1 % + 0.25 * 10 % = 3.25 %.
    rate, low, high = dobson(np.array([10, 100]), np.array([1000, 1000]), np.array([3.0, 1.0]))
    assert rate == pytest.approx(0.0325) and low < rate < high
    assert dobson(np.array([0, 0]), np.array([10, 10]), np.array([1, 1]))[:2] == (0.0, 0.0)
