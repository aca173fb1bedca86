"""The engine against queueing theory: published formulas, not our own output.

Erlang B (M/G/c/c: the loss formula holds for any length-of-stay distribution with the same mean),
Erlang C (M/M/c: probability of waiting and mean wait), and the time-varying infinite-server
occupancy of Eick, Massey and Whitt (1993): m(t) = integral of lambda(t - x) P(S > x) dx.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from flow_cases import interval, model_of, one_pool

from icsys.flow import engine
from icsys.flow.run import replicate

REPS = 24


def erlang_b(c: int, a: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def test_erlang_b_recurrence_matches_the_closed_form() -> None:
    c, a = 5, 3.0
    closed = a**c / math.factorial(c) / sum(a**k / math.factorial(k) for k in range(c + 1))
    assert erlang_b(c, a) == pytest.approx(closed)


def _runs(data: dict, reps: int = REPS, seed: int = 7) -> tuple:
    model = model_of(data)
    return model, [replicate(model, seed, r) for r in range(reps)]


@pytest.mark.parametrize("los", [
    {"distribution": "exponential", "mean": 4.5},
    {"distribution": "lognormal", "mean": 4.5, "sd": 6.0},  # insensitivity: only the mean matters
])
def test_loss_system_matches_erlang_b(los: dict) -> None:
    model, runs = _runs(one_pool(20, 4.0, los, when_full="turn_away"))
    w = model.warm_up_days
    blocked = [r.pools[engine.TURNED, 0, w:].sum() / (r.pools[engine.TURNED, 0, w:].sum()
                                                    + r.pools[engine.ADMITTED, 0, w:].sum()) for r in runs]
    low, high = interval(np.array(blocked))
    assert low <= erlang_b(20, 4.0 * 4.5) <= high, (low, erlang_b(20, 18.0), high)
    occupancy = [r.pools[engine.OCCUPANCY, 0, w:].mean() for r in runs]  # carried load a(1 - B)
    low, high = interval(np.array(occupancy))
    assert low <= 18.0 * (1 - erlang_b(20, 18.0)) <= high


def test_queue_matches_erlang_c() -> None:
    c, per_day, mean = 12, 2.0, 5.0  # offered load 10 on 12 beds
    model, runs = _runs(one_pool(c, per_day, {"distribution": "exponential", "mean": mean}, days=1460))
    w = model.warm_up_days
    admitted = np.array([r.pools[engine.ADMITTED, 0, w:].sum() for r in runs])
    waited = np.array([r.pools[engine.WAITED, 0, w:].sum() for r in runs]) / admitted
    wait = np.array([r.pools[engine.WAIT_DAYS, 0, w:].sum() for r in runs]) / admitted
    a = per_day * mean
    p_wait = erlang_c(c, a)
    low, high = interval(waited)
    assert low <= p_wait <= high, (low, p_wait, high)
    low, high = interval(wait)
    assert low <= p_wait / (c / mean - per_day) <= high  # Wq = C / (c mu - lambda)
    assert all(r.fates["turned away"] == 0 for r in runs)


def _infinite_server_mean(rate_hourly: np.ndarray, survival: callable, step: float = 1 / 96) -> np.ndarray:
    """m(t) on a grid of `step` days from the hourly arrival rate and the stay's survival function."""
    grid = np.arange(0, len(rate_hourly) / 24, step)
    lam = rate_hourly[np.minimum((grid * 24).astype(int), len(rate_hourly) - 1)] * 24  # per day
    weights = survival(np.arange(len(grid)) * step + step / 2) * step
    return np.convolve(lam, weights)[: len(grid)]


def test_time_varying_occupancy_matches_the_infinite_server_formula() -> None:
    hours = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.8, 1.7, 1.6, 1.5, 1.4, 1.4, 1.4, 1.3, 1.2, 1.1,
             1.0, 0.8, 0.6, 0.4]
    week = [1.3, 1.1, 1.0, 1.0, 1.0, 0.8, 0.8]
    mean, sd = 1.5, 1.2
    data = one_pool(10_000, 40.0, {"distribution": "lognormal", "mean": mean, "sd": sd}, days=56, warm_up=14,
                    hour_of_day=hours, day_of_week=week)
    model, runs = _runs(data, reps=30)
    from scipy import stats as st

    from icsys.flow.distributions import lognormal_parameters
    mu, sigma = lognormal_parameters(mean, sd)
    step = 1 / 96
    m = _infinite_server_mean(model.streams[0].hourly, lambda x: st.lognorm.sf(x, sigma, scale=np.exp(mu)), step)
    per_day = round(1 / step)
    expected_mean = m.reshape(model.n_days, per_day).mean(axis=1)
    expected_midnight = m[per_day::per_day]  # the midnight that ends each day
    w = model.warm_up_days
    for measure, expected in ((engine.OCCUPANCY, expected_mean), (engine.MIDNIGHT, expected_midnight)):
        sims = np.array([r.pools[measure, 0, w:model.n_days - 1] for r in runs])
        exp = expected[w:model.n_days - 1]
        se = sims.std(axis=0, ddof=1) / np.sqrt(len(runs))
        z = (sims.mean(axis=0) - exp) / se
        assert np.mean(np.abs(z) > 2.58) < 0.06, z  # about 1 % of days by chance
        assert abs(z.mean()) < 0.6
    assert expected_mean[w:].max() / expected_mean[w:].min() > 1.2  # the profile really varies


def test_conservation_and_littles_law() -> None:
    data = one_pool(15, 3.5, {"distribution": "lognormal", "mean": 4.0, "sd": 3.0}, days=400)
    model = model_of(data)
    rep = replicate(model, 11, 0, detail=True)
    d = rep.detail
    arrived = int((d["request"] < model.n_days).sum())
    assert sum(v for k, v in rep.fates.items() if k != "not yet arrived") == arrived
    held = np.isfinite(d["starts"][:, 0]) & (d["fate"] == engine.IN_SYSTEM)
    assert rep.pools[engine.MIDNIGHT, 0, -1] == held.sum()  # everyone in a bed at the end is counted
    # Little: time-average occupancy equals admissions per day times the mean time each holds a bed
    start = d["starts"][:, 0]
    end = np.where(np.isnan(d["left_at"]), model.n_days, d["left_at"])
    inside = np.isfinite(start)
    bed_days = (np.minimum(end[inside], model.n_days) - start[inside]).sum()
    assert rep.pools[engine.OCCUPANCY, 0].sum() == pytest.approx(bed_days, rel=1e-6)  # stored as float32
    lam = inside.sum() / model.n_days
    assert rep.pools[engine.OCCUPANCY, 0].mean() == pytest.approx(lam * np.mean(end[inside] - start[inside]),
                                                                   rel=0.01)


def test_a_census_is_drawn_from_the_equilibrium_residual_stay() -> None:
    """People found in beds have length-biased stays and are a uniform share through them: the time they have
    left is distributed as integral from t of (1 - F(x)) dx / E[S] (renewal theory)."""
    from icsys.flow.patients import draw

    quantiles = [0.1, 0.5, 1.0, 1.6, 2.2, 3.0, 4.0, 5.5, 7.5, 11.0, 30.0]
    data = one_pool(100_000, 50.0, {"distribution": "empirical", "quantiles": quantiles}, days=30, warm_up=0)
    data["pool"][0]["census"] = 20_000
    p = draw(model_of(data), 4, 0)
    left = p.hold[p.stream == -1, 0]
    x = np.linspace(0, 40, 40_001)
    cdf = np.interp(x, quantiles, np.linspace(0, 1, len(quantiles)))
    survival = 1 - cdf
    mean_stay = np.trapezoid(survival, x)
    for t in (0.5, 2.0, 5.0, 10.0):
        expected = np.trapezoid(survival[x >= t], x[x >= t]) / mean_stay
        observed = (left > t).mean()
        assert abs(observed - expected) < 3 * np.sqrt(expected * (1 - expected) / len(left)), (t, observed, expected)


def test_another_route_takes_no_place_and_leaves_after_the_arranging_time() -> None:
    # everyone needs pathway 2; a quarter go to community beds, the rest by another route: they leave the ward
    # their pathway's arranging time (fixed 2 days) after they are ready, and the community beds never see them
    data = one_pool(200, 4.0, {"distribution": "fixed", "value": 3.0}, days=200, warm_up=0, pathway=[0, 0, 1, 0])
    data["pool"][0] |= {"discharge_to": {"2": {"community": 0.25, "another_route": 0.75}},
                        "pathway_days": {"2": {"distribution": "fixed", "value": 2.0}}}
    data["pool"].append({"code": "community", "kind": "community", "capacity": 500,
                         "stay_days": {"distribution": "fixed", "value": 10.0}})
    model = model_of(data)
    rep = replicate(model, 3, 0, detail=True)
    d = rep.detail
    ward = np.isfinite(d["starts"][:, 0]) & (d["starts"][:, 0] < 150)
    community = np.isfinite(d["starts"][:, 1])
    assert (d["pool"][ward & ~community, 1] == -1).all()
    share = community[ward].mean()  # binomial: about 560 patients, sd of the share 0.018
    assert 0.25 - 0.06 < share < 0.25 + 0.06
    elsewhere = ward & ~community
    np.testing.assert_allclose(d["left_at"][elsewhere] - d["starts"][elsewhere, 0], 5.0, atol=1e-9)
    np.testing.assert_allclose(d["starts"][ward & community, 1] - d["starts"][ward & community, 0], 5.0, atol=1e-9)
