"""DeLong's paired AUROC difference (fast algorithm) against the structural components worked by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from icsys.population import model_card, roc

# Two positives and three negatives; score b has a tie across the classes (0.3).
Y = np.array([1, 1, 0, 0, 0])
A = np.array([0.9, 0.4, 0.5, 0.2, 0.1])
B = np.array([0.6, 0.3, 0.7, 0.3, 0.2])


def psi(x: float, z: float) -> float:
    return 1.0 if x > z else 0.5 if x == z else 0.0


def delong_by_pairs(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong 1988 from its definition: V10 and V01 by comparing every positive with every negative."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    comps = {}
    for name, s in (("a", a), ("b", b)):
        grid = np.array([[psi(s[i], s[j]) for j in neg] for i in pos])
        comps[name] = (grid.mean(), grid.mean(axis=1), grid.mean(axis=0))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = comps["a"], comps["b"]
    var = np.var(v10a - v10b, ddof=1) / len(pos) + np.var(v01a - v01b, ddof=1) / len(neg)
    return auc_a - auc_b, float(var)


def test_difference_and_variance_match_the_hand_worked_example() -> None:
    # By hand: V10a = (1, 2/3), V10b = (2/3, 1/2); V01a = (1/2, 1, 1), V01b = (0, 3/4, 1).
    # AUROC a = 5/6, b = 7/12, difference 1/4. S10 part (1/18 + 1/72 - 2/36) / 2 = 1/144;
    # S01 part (1/12 + 39/144 - 2 * 21/144) / 3 = 3/144; variance 4/144 = 1/36.
    d = roc.difference(Y, A, B)
    assert d.auroc_a == pytest.approx(5 / 6) and d.auroc_b == pytest.approx(7 / 12)
    assert d.difference == pytest.approx(0.25) and d.variance == pytest.approx(1 / 36)
    assert (d.lower, d.upper) == pytest.approx((0.25 - 1.959964 / 6, 0.25 + 1.959964 / 6))
    assert d.lower < 0 < d.upper  # five people cannot show a difference of 0.25


def test_fast_algorithm_agrees_with_the_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    a, b = np.round(y + rng.normal(0, 1, 60), 1), np.round(y + rng.normal(0, 2, 60), 1)  # rounding makes ties
    diff, var = delong_by_pairs(y, a, b)
    d = roc.difference(y, a, b)
    assert d.difference == pytest.approx(diff) and d.variance == pytest.approx(var)


def test_a_clearly_better_score_excludes_zero_and_identical_scores_include_it() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 2_000)
    good, noise = y + rng.normal(0, 0.5, 2_000), rng.normal(0, 1, 2_000)
    assert roc.difference(y, good, noise).lower > 0.3
    same = roc.difference(y, good, good)
    assert same.difference == 0 and same.lower <= 0 <= same.upper
    assert roc.difference(y, noise, good).upper < 0


def test_the_card_says_gain_in_words_and_a_small_band_says_it_is_too_small() -> None:
    rng = np.random.default_rng(11)
    n = 4_000
    age = np.where(np.arange(n) < 30, 5, 70)  # 30 children, none admitted
    y = np.where(age == 5, 0, rng.integers(0, 2, n))
    p, q = y + rng.normal(0, 0.5, n), rng.normal(0, 1, n)
    g = model_card.gain_over(pd.DataFrame({"age": age}), y, p, q)
    assert isinstance(g["age band"]["0-17"]["gain"], str) and "too few outcomes" in g["age band"]["0-17"]["gain"]
    assert g["overall"]["lower"] > 0 and g["age band"]["65-74"]["lower"] > 0
    json.dumps(g, allow_nan=False)  # valid JSON: no NaN anywhere
    words = model_card._gain_words(g)
    assert f"gains {g['overall']['gain']:.3f} ({g['overall']['lower']:.3f} to " in words
    assert "Too few outcomes to compare in 0-17" in words and "does no better" not in words
    flat = model_card._gain_words(model_card.gain_over(pd.DataFrame({"age": age}), y, q, q))
    assert "does no better than age and sex (a difference of +0.000" in flat and "gains" not in flat


def test_bands_whose_interval_reaches_zero_are_named() -> None:
    overall = {"gain": 0.05, "lower": 0.02, "upper": 0.08}
    bands = {"0-17": {"gain": 0.04, "lower": -0.07, "upper": 0.16},
             "18-44": {"gain": 0.17, "lower": 0.03, "upper": 0.31},
             "45-64": {"gain": 0.06, "lower": -0.05, "upper": 0.17}, "85+": {"gain": "too few outcomes"}}
    words = model_card._gain_words({"baseline": "age and sex", "overall": overall, "age band": bands})
    assert words.startswith("On the same people it gains 0.050 (0.020 to 0.080) in AUROC over age and sex")
    assert "from +0.040 to +0.170; in 0-17 and 45-64 its interval reaches 0 or below" in words
    assert "Too few outcomes to compare in 85+." in words


def test_the_markdown_card_has_a_row_per_band_with_its_interval() -> None:
    g = {"baseline": "age and sex", "overall": {"people": 1000, "events": 100, "auroc": 0.8, "baseline_auroc": 0.7,
                                                "gain": 0.1, "lower": 0.05, "upper": 0.15},
         "age band": {"0-17": {"people": 200, "events": "<10", "gain": "too few outcomes to compare (fewer than 10)"}}}
    lines = model_card._gain_section(g)
    assert "| overall | 1,000 | 100 | 0.800 | 0.700 | +0.100 | +0.050 to +0.150 |" in lines
    assert "| age 0-17 | 200 | <10 | | | too few outcomes to compare (fewer than 10) | |" in lines
