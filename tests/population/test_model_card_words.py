"""The model card's sentences follow from its figures, whichever way they fall (hand-made figures)."""

from __future__ import annotations

from icsys.population.model_card import standing


def figures(auroc: float, slope: float = 1.0, intercept: float = 0.0) -> dict:
    return {"auroc": auroc, "calibration_slope": slope, "calibration_intercept": intercept}


def group(people: int, observed: float, expected: float) -> dict:
    return {"people": people, "events": round(people * observed), "observed": observed, "expected": expected}


CALIBRATED = {"age band": {"18-44": group(10_000, 0.05, 0.05), "85+": group(1_000, 0.30, 0.29)},
              "sex": {"female": group(6_000, 0.10, 0.11), "male": {"people": 40, "events": "<10",
                                                                     "suppressed": True}}}


def test_a_model_that_adds_nothing_to_age_and_sex_says_so() -> None:
    words = standing(figures(0.781), {"age and sex": figures(0.776), "LTC count": figures(0.70)}, CALIBRATED)
    assert "no better than the best simple baseline (age and sex, AUROC 0.776; a difference of +0.005)" in words
    assert "adds to what" not in words and "within the range of published models" in words


def test_a_model_that_beats_its_baselines_says_what_it_adds() -> None:
    words = standing(figures(0.812), {"age and sex": figures(0.776), "LTC count": figures(0.70)}, CALIBRATED)
    assert "better than the best simple baseline (age and sex, AUROC 0.776) by 0.036" in words
    assert "prior use of services" in words and "no better" not in words and "above the range" in words


def test_a_model_worse_than_a_baseline_says_use_the_baseline() -> None:
    words = standing(figures(0.70), {"Cambridge score": figures(0.74)}, CALIBRATED)
    assert "worse than the best simple baseline (Cambridge score" in words and "use Cambridge score" in words


def test_miscalibration_at_85_plus_is_named() -> None:
    # 85+: observed 0.40 against expected 0.25 in 2,000 people (800 events against 500): O/E 1.60, interval
    # far from 1. 18-44: 0.05 against 0.045 (O/E 1.11) is within 0.8-1.25 and not named.
    groups = {"age band": {"18-44": group(10_000, 0.05, 0.045), "85+": group(2_000, 0.40, 0.25)}}
    words = standing(figures(0.78, slope=0.7), {"age and sex": figures(0.70)}, groups)
    assert ("miscalibrated (observed / expected outside 0.80-1.25) in age band 85+ (observed 0.400 against "
            "expected 0.250, observed / expected 1.60: it under-estimates their risk)") in words
    assert "18-44" not in words and "too extreme: recalibrate" in words


def test_calibration_everywhere_is_said_and_chance_is_not_miscalibration() -> None:
    # 12 events against 8 expected (O/E 1.5) is outside the range but within chance (Byar 0.78-2.62).
    groups = CALIBRATED | {"IMD quintile": {"Q3": group(100, 0.12, 0.08)}}
    words = standing(figures(0.78), {"age and sex": figures(0.70)}, groups)
    assert "In every subgroup with enough outcomes observed / expected is within 0.80-1.25" in words
    assert "miscalibrated" not in words and "well calibrated" in words
