"""The ECDS times of the synthetic A&E (issue 9 item 6): initial assessment and treatment between arrival
and the decision to admit or departure, a median of about 15 minutes and 1-2 hours, longer when crowded."""

from __future__ import annotations

import numpy as np

from icsys.synth.urgent_care import ARRIVAL_PROFILE, assessment_and_treatment

N = 40_000
MIN = np.timedelta64(60, "s")


def attendances(arrival: str, *, n: int = N, acuity: int = 2, type3: bool = False, admitted: bool = False,
                disposal: int = 1, stay_h: float = 6.0) -> dict[str, np.ndarray]:
    at = np.full(n, np.datetime64(arrival, "s"))
    departure = at + np.timedelta64(int(stay_h * 3600), "s")
    dta = at + np.timedelta64(3 * 3600, "s") if admitted else np.datetime64("NaT", "s")
    return {"arrival_time": at, "departure_time": departure, "decision_to_admit_time": np.full(n, dta),
            "site_code": np.full(n, "RPA02", dtype=object), "department_type": np.full(n, int(type3), np.int8),
            "acuity": np.full(n, acuity, np.int8), "disposal": np.full(n, disposal)}


def minutes(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier) / MIN


def test_both_times_lie_between_arrival_and_the_decision_to_admit_or_departure() -> None:
    rng = np.random.default_rng(1)
    for admitted in (False, True):
        ae = attendances("2025-07-02T10:00", n=5_000, admitted=admitted, stay_h=2.5)
        initial, treated = assessment_and_treatment(rng, ae)
        end = ae["decision_to_admit_time"] if admitted else ae["departure_time"]
        assert (initial >= ae["arrival_time"]).all() and (treated >= initial).all()
        assert (treated <= end - MIN).all()  # a minute short of the decision to admit or leaving at latest


def test_left_before_treatment_has_no_treatment_time_and_the_sickest_are_seen_at_once() -> None:
    rng = np.random.default_rng(2)
    _, treated = assessment_and_treatment(rng, attendances("2025-07-02T10:00", n=100, disposal=4))
    assert np.isnat(treated).all()
    initial, treated = assessment_and_treatment(rng, attendances("2025-07-02T10:00", n=1_000, acuity=0))
    arrival = np.datetime64("2025-07-02T10:00", "s")
    assert minutes(initial, arrival).max() <= 3 and minutes(treated, arrival).max() <= 13


def test_medians_about_15_minutes_and_an_hour_or_two_and_longer_when_crowded() -> None:
    rng = np.random.default_rng(3)
    # Medway's department (site effect 0.993) in July at 08:00, when arrivals run at 1.126 x the day's mean
    summer = 0.95 * 1.126 ** 0.5 * 0.99346611
    winter = 1.2 * 1.126 ** 0.5 * 0.99346611
    assert abs(ARRIVAL_PROFILE[8] / ARRIVAL_PROFILE.mean() - 1.126) < 1e-3
    got = {}
    for season, day in (("summer", "2025-07-02T08:00"), ("winter", "2026-01-14T08:00")):
        ae = attendances(day, stay_h=12)
        initial, treated = assessment_and_treatment(rng, ae)
        got[season] = (np.median(minutes(initial, ae["arrival_time"])), np.median(minutes(treated, initial)))
    # lognormal medians: 15 x crowding^1.5 to assessment, 70 x crowding^2 from assessment to treatment
    assert abs(got["summer"][0] / (15 * summer**1.5) - 1) < 0.03
    assert abs(got["winter"][0] / (15 * winter**1.5) - 1) < 0.03
    assert abs(got["summer"][1] / (70 * summer**2) - 1) < 0.03 and abs(got["winter"][1] / (70 * winter**2) - 1) < 0.03
    assert 13 < got["summer"][0] < 18 and 60 < got["summer"][0] + got["summer"][1] < 120  # ~15 min; 1-2 hours
