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


def test_long_waits_only_lengthen_type_1_stays_already_past_four_hours() -> None:
    from icsys.synth.urgent_care import LONG_WAIT_SHARE, OLDER_LONG_WAIT, _long_waits

    rng = np.random.default_rng(3)
    n = 40_000
    arrival = np.full(n, np.datetime64("2025-07-02T10:00", "s"))
    hours = np.where(np.arange(n) % 2 == 0, 3.5, 5.0)  # half inside 4 hours, half past it
    departure = arrival + (hours * 3600).astype("timedelta64[s]")
    admitted = np.arange(n) % 4 >= 2  # every other pair admitted, decided 3 hours after arrival
    dta = np.where(admitted, arrival + np.timedelta64(3 * 3600, "s"), np.datetime64("NaT", "s"))
    kind = np.where(np.arange(n) % 8 == 7, 3, 0).astype(np.int8)  # one in eight at a type 3 department
    age = np.where(np.arange(n) % 3 == 0, 80, 40)
    new_dta, new_departure = _long_waits(rng, arrival, dta, departure, kind, age)
    longer = new_departure > departure
    assert not longer[(hours < 4) | (kind == 3)].any()  # the 4-hour figure and type 3 unchanged
    # Admitted patients wait before the decision to admit: the wait after it is what it was.
    assert (new_departure - new_dta == departure - dta)[admitted].all()
    assert np.isnat(new_dta[~admitted]).all()
    assert (new_departure - arrival <= np.timedelta64(72 * 3600, "s")).all()
    # The share past 4 hours who wait on: LONG_WAIT_SHARE, x OLDER_LONG_WAIT at 75 or over (binomial error ~1 %).
    eligible = (hours > 4) & (kind != 3)
    for old, expected in ((True, LONG_WAIT_SHARE * OLDER_LONG_WAIT), (False, LONG_WAIT_SHARE)):
        share = longer[eligible & ((age >= 75) == old)].mean()
        assert abs(share - expected) < 0.02, (old, share)
    # Most who wait on pass 12 hours from arrival (a median of 9 more hours).
    assert (new_departure[longer] - arrival[longer] > np.timedelta64(12 * 3600, "s")).mean() > 0.6
