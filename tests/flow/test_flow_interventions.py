"""Surges, capacity changes and interventions do what they say, against expected values worked out
from the scenario's own parameters."""

from __future__ import annotations

import numpy as np
from flow_cases import interval, model_of, one_pool, small_system
from test_flow_queueing import erlang_b

from icsys.flow import engine
from icsys.flow.patients import draw
from icsys.flow.run import replicate

REPS = 16


def _frail_share() -> float:
    rows = small_system()["case_mix"]["ae"]["rows"]
    return sum(r["share"] for r in rows if r["frailty"] == "severe") / sum(r["share"] for r in rows)


def _per_day(data: dict, key: str, reps: int = REPS) -> np.ndarray:
    model = model_of(data)
    return np.array([getattr(replicate(model, 3, r), key).mean() for r in range(reps)])


def test_urgent_community_response_diverts_its_share_of_frail_conveyances() -> None:
    data = small_system()
    data["intervention"] = [{"kind": "urgent_community_response", "share": 0.4}]
    expected = 12 * _frail_share() * 0.4  # a day: ambulance arrivals x frail share x share diverted
    low, high = interval(_per_day(data, "diverted"))
    assert low <= expected <= high, (low, expected, high)


def test_a_response_team_at_capacity_diverts_no_more_than_it_can_take() -> None:
    data = small_system()
    data["intervention"] = [{"kind": "urgent_community_response", "share": 0.4, "responses_per_day": 1.0}]
    low, high = interval(_per_day(data, "diverted"))
    assert low <= 1.0 <= high  # demand for it (1.58 a day) exceeds the team's 1 a day


def test_frailty_mdts_avoid_their_share_of_the_cohort() -> None:
    data = small_system()
    data["intervention"] = [{"kind": "frailty_mdt", "share": 0.2, "frailty": ["severe"], "age_bands": ["85+"]}]
    low, high = interval(_per_day(data, "avoided"))
    assert low <= (12 + 6) * _frail_share() * 0.2 <= high  # a day: both A&E streams x frail share x share avoided


def test_home_first_moves_its_share_and_no_one_else() -> None:
    base, home_first = small_system(), small_system()
    base["intervention"] = [i for i in base["intervention"] if i["kind"] != "home_first"]
    home_first["intervention"] = [{"kind": "home_first", "from_pathway": 2, "to_pathway": 1, "share": 0.3}]
    a = draw(model_of(base), 8, 0)
    b = draw(model_of(home_first), 8, 0)
    np.testing.assert_array_equal(a.arrival, b.arrival)  # the same patients (common random numbers)
    moved = (a.pathway == 2) & (b.pathway == 1)
    assert np.array_equal(a.pathway != b.pathway, moved)
    n = int((a.pathway == 2).sum())
    share = moved.sum() / n
    assert abs(share - 0.3) < 2.58 * np.sqrt(0.3 * 0.7 / n), (share, n)


def test_virtual_ward_takes_its_share_when_a_place_is_free() -> None:
    data = small_system()
    model = model_of(data)
    p = draw(model, 4, 0)
    vw = model.pool_codes.index("vw")
    ae = p.stream == 0
    offered = (p.pool[ae, 1] == vw).mean()
    expected = 0.18 / (0.12 + 0.18) * 0.5  # geriatric medicine's share of A&E admissions x share offered
    assert abs(offered - expected) < 2.58 * np.sqrt(expected * (1 - expected) / ae.sum())
    rep = replicate(model, 4, 0)
    assert 0 < rep.pools[engine.MIDNIGHT, vw].max() <= 4  # used, and never more than its places
    without = small_system()
    without["intervention"] = [i for i in without["intervention"] if i["kind"] != "virtual_ward"]
    acute = model.pool_codes.index("acute")
    bed_days = [[replicate(model_of(d), 4, r).pools[engine.OCCUPANCY, acute].sum() for r in range(4)]
                for d in (data, without)]
    assert np.mean(bed_days[0]) < np.mean(bed_days[1])  # stays shortened in the acute beds


def test_a_surge_adds_its_expected_arrivals() -> None:
    data = one_pool(10_000, 4.0, {"distribution": "exponential", "mean": 2.0}, days=120, warm_up=0)
    data["surge"] = [{"name": "wave", "start": "2025-02-01", "end": "2025-03-31", "multiplier": 2.0,
                      "shape": "wave", "sources": ["other"]}]
    model = model_of(data)
    counts = []
    for r in range(200):  # drawing alone is quick
        p = draw(model, 6, r)
        counts.append(((p.arrival >= 26) & (p.arrival < 85)).sum())  # 2025-02-01 is day 26; 59 days
    low, high = interval(np.array(counts, dtype=float))
    assert low <= 4.0 * 59 * 1.5 <= high  # a raised-cosine wave to x2 averages x1.5


def test_extra_beds_for_a_month_cut_turning_away_to_the_erlang_b_of_the_larger_ward() -> None:
    data = one_pool(20, 4.0, {"distribution": "exponential", "mean": 1.5}, when_full="turn_away", days=200,
                    warm_up=0)
    data["capacity_change"] = [{"pool": "ward", "change": -14, "start": "2025-03-01", "end": "2025-05-31"}]
    model = model_of(data)
    blocked = {"open": [], "closed": []}
    for r in range(REPS):
        rep = replicate(model, 2, r)
        for name, days in (("open", slice(160, 200)), ("closed", slice(60, 145))):
            t = rep.pools[engine.TURNED, 0, days].sum()
            blocked[name].append(t / (t + rep.pools[engine.ADMITTED, 0, days].sum()))
    assert np.mean(blocked["open"][:]) < 0.01
    low, high = interval(np.array(blocked["closed"]))
    assert low <= erlang_b(6, 6.0) <= high
