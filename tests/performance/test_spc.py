"""The SPC API: segments (rebase), a fixed baseline, trial limits, how special causes are coloured, the
variation and assurance icons, presets and settings, and refusal of input it cannot chart."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from icsys.errors import InputError
from icsys.performance import spc

STEADY = [10, 12, 11, 13, 10, 12, 11, 13, 10, 12, 11, 13, 10, 12, 11, 13, 10, 12, 11, 13]  # mean 11.5, amr 2


def months(n: int, start: str = "2023-04-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def test_limits_are_mean_plus_minus_2_66_average_moving_ranges() -> None:
    r = spc.chart(STEADY, months(20))
    row = r.points.iloc[0]
    amr = np.mean(np.abs(np.diff(STEADY)))
    assert row["mean"] == pytest.approx(11.5) and row["average_moving_range"] == pytest.approx(amr)
    assert (row["lpl"], row["upl"]) == pytest.approx((11.5 - 2.66 * amr, 11.5 + 2.66 * amr))
    assert (row["lower_two_sigma"], row["upper_two_sigma"]) == pytest.approx(
        (11.5 - 2 * 2.66 / 3 * amr, 11.5 + 2 * 2.66 / 3 * amr))
    assert np.isnan(r.points["moving_range"].iloc[0]) and r.points["moving_range"].iloc[1] == 2
    assert r.variation == "common_cause" and not r.trial


def test_a_series_or_a_list_with_periods_or_neither() -> None:
    series = pd.Series(STEADY, index=months(20))
    a = spc.chart(series)
    b = spc.chart(STEADY, list(months(20)))
    c = spc.chart(STEADY)
    assert a.points["upl"].tolist() == b.points["upl"].tolist() == c.points["upl"].tolist()
    assert c.points["period"].tolist() == list(range(1, 21))
    d = spc.chart(STEADY, [date(2023, 4, 1) + pd.DateOffset(months=i) for i in range(20)])
    assert d.to_dict()["points"][0]["period"] == "2023-04-01"


def test_points_are_put_in_order_of_period() -> None:
    shuffled = pd.Series(STEADY, index=months(20)).sample(frac=1, random_state=1)
    r = spc.chart(shuffled)
    assert r.points["value"].tolist() == STEADY


def test_screening_takes_a_single_jump_out_of_the_average_moving_range() -> None:
    y = [*STEADY[:10], 40, *STEADY[11:]]
    screened = spc.chart(y, settings=spc.preset("default", screen=True)).points
    unscreened = spc.chart(y, settings=spc.preset("default", screen=False)).points
    assert screened["upl"].iloc[0] < unscreened["upl"].iloc[0]
    assert not screened["moving_range_used"].iloc[10] and unscreened["moving_range_used"].iloc[10]
    assert "outside_limits" in screened["rules"].iloc[10]


def test_rebase_recalculates_limits_and_the_rules_do_not_cross_it() -> None:
    y = [10, 12, 11, 13, 10, 12, 11, 13, 10, 12, 11, 13, 11.6, 11.7, 11.6, 11.7, 11.6, 11.7, 11.6, 11.7]
    plain = spc.chart(y, months(20))
    assert plain.points["rules"].iloc[-1] == ["shift"]  # 8 points just above the mean of 11.55
    rebased = spc.chart(y, months(20), rebase=[date(2024, 4, 1)])
    assert rebased.points["segment"].tolist() == [0] * 12 + [1] * 8
    assert rebased.limits["mean"].tolist() == pytest.approx([11.5, 11.65])
    assert rebased.points["special_cause"].eq("none").all()
    assert rebased.to_dict()["settings"]["rebase"] == ["2024-04-01"]


def test_rebase_at_a_date_between_periods_starts_at_the_next_period() -> None:
    r = spc.chart(STEADY, months(20), rebase=["2024-03-15"])
    assert r.limits["first"].tolist() == [pd.Timestamp("2023-04-01"), pd.Timestamp("2024-04-01")]


def test_a_fixed_baseline_holds_the_limits_of_the_first_points() -> None:
    y = [*STEADY[:12], 20, 21, 22, 20, 21, 22, 20, 21]
    r = spc.chart(y, baseline=12)
    base = spc.chart(STEADY[:12])
    assert r.points["upl"].eq(base.points["upl"].iloc[0]).all()
    assert r.points["moving_range_used"].tolist() == [False] + [True] * 11 + [False] * 8
    assert set(r.points["special_cause"].iloc[12:]) == {"improvement"}
    assert r.variation == "improvement_high"


def test_the_baseline_applies_within_each_segment() -> None:
    r = spc.chart(STEADY + STEADY, months(40), rebase=[months(40)[20]], baseline=12)
    assert r.limits["points"].tolist() == [20, 20]
    assert r.limits["mean"].tolist() == pytest.approx([np.mean(STEADY[:12])] * 2)


def test_limits_from_fewer_than_13_points_are_trial_limits() -> None:
    assert spc.chart(STEADY[:12]).trial
    assert not spc.chart(STEADY[:13]).trial
    assert not spc.chart(STEADY[:12], settings=spc.preset("nhsr")).trial  # NHSRplotthedots warns below 12
    fixed = spc.chart(STEADY, baseline=10)
    assert fixed.trial and fixed.points["trial"].all()
    r = spc.chart(STEADY + STEADY[:5], rebase=[16])
    assert r.points.groupby("segment")["trial"].first().tolist() == [False, True]


def test_a_trend_crossing_the_mean_keeps_its_direction() -> None:
    # NHSRplotthedots issue #171: seven falling points starting above the mean and ending below it are
    # all one special cause in the trend's direction (improvement when lower is better).
    y = [*STEADY[:12], 13.5, 13, 12.5, 12, 11, 10.5, 10, 11, 12]
    r = spc.chart(y, improvement="decrease")
    trend = r.points.iloc[12:19]
    assert trend["rule"].tolist() == ["trend"] * 7
    assert trend["special_cause"].tolist() == ["improvement"] * 7
    legacy = spc.chart(y, improvement="decrease", settings=spc.preset("nhsr_legacy"))
    assert legacy.points["special_cause"].iloc[12:16].tolist() == ["concern"] * 4  # above the mean


def test_a_rising_or_falling_run_of_eight_is_special_cause() -> None:
    # NHSRplotthedots issue #167: every point of 0..7 and of 0..-7 is special cause. The first point of
    # each is also beyond a limit, which colours it (rule order); the rest are the trend's.
    up = spc.chart(list(range(8)))
    down = spc.chart([-x for x in range(8)])
    assert up.points["rules"].map(lambda r: "trend" in r).all() and down.points["rules"].map(len).all()
    assert up.points["special_cause"].tolist() == ["concern"] + ["improvement"] * 7
    assert down.points["special_cause"].tolist() == ["improvement"] + ["concern"] * 7
    assert (up.variation, down.variation) == ("improvement_high", "concern_low")


def test_precedence_or_improvement_first_when_rules_disagree() -> None:
    # The first point of a rising trend is below the lower limit: concern by rule order (NHSRplotthedots),
    # improvement where the Making Data Count tool shows improvement over concern.
    y = [*STEADY, 3, 9, 10, 11, 12, 13, 14]
    by_order = spc.chart(y, baseline=20).points.iloc[20]
    assert by_order["rules"] == ["outside_limits", "trend"]
    assert (by_order["rule"], by_order["special_cause"], by_order["direction"]) == ("outside_limits", "concern", "low")
    first = spc.chart(y, baseline=20, settings=spc.preset("default", conflict="improvement")).points.iloc[20]
    assert (first["rule"], first["special_cause"], first["direction"]) == ("trend", "improvement", "high")


def test_mdc_counts_points_beyond_the_limits_towards_two_in_three() -> None:
    y = [*STEADY, 15.5, 17.5]  # upper two sigma 15.05, upper limit 16.82 (limits from the first 20)
    default = spc.chart(y, baseline=20).points.iloc[-2:]
    mdc = spc.chart(y, baseline=20, settings=spc.preset("mdc")).points.iloc[-2:]
    assert default["rules"].tolist() == [[], ["outside_limits"]]
    assert mdc["rules"].tolist() == [["two_in_three"], ["outside_limits", "two_in_three"]]


@pytest.mark.parametrize(("improvement", "last", "icon"), [
    ("increase", 30, "improvement_high"),
    ("increase", -5, "concern_low"),
    ("decrease", -5, "improvement_low"),
    ("decrease", 30, "concern_high"),
    ("neutral", 30, "neutral_high"),
    ("neutral", -5, "neutral_low"),
    ("increase", 12, "common_cause"),
])
def test_variation_icon_of_the_latest_point(improvement: str, last: float, icon: str) -> None:
    r = spc.chart([*STEADY, last], improvement=improvement)  # type: ignore[arg-type]
    assert r.variation == icon


@pytest.mark.parametrize(("improvement", "target", "icon"), [
    ("increase", 5, "consistently_pass"),
    ("increase", 18, "consistently_fail"),
    ("increase", 11, "hit_and_miss"),
    ("decrease", 5, "consistently_fail"),
    ("decrease", 18, "consistently_pass"),
    ("decrease", 11, "hit_and_miss"),
    ("neutral", 5, None),
    ("increase", None, None),
])
def test_assurance_icon_from_the_target_and_the_limits(improvement: str, target: float | None,
                                                       icon: str | None) -> None:
    r = spc.chart(STEADY, improvement=improvement, target=target)  # type: ignore[arg-type]
    assert r.assurance == icon


def test_assurance_uses_the_latest_limits_after_a_rebase() -> None:
    # NHSRplotthedots issue #172: an improved, rebased process straddling the target is hit and miss
    y = [50 + (i % 3) for i in range(20)] + [88 + (i % 5) for i in range(10)]
    assert spc.chart(y, target=90, rebase=[21]).assurance == "hit_and_miss"
    assert spc.chart(y[:20], target=90).assurance == "consistently_fail"


def test_run_lengths_are_settings() -> None:
    y = STEADY[:11] + [12] * 6  # six points in a row above the mean of 11.59
    assert spc.chart(y).points["special_cause"].iloc[-1] == "none"
    six = spc.chart(y, settings=spc.preset("mdc6"))
    assert six.points["rules"].iloc[-1] == ["shift"]


def test_to_dict_is_plain_json_with_the_settings_used() -> None:
    r = spc.chart(STEADY, months(20), target=18, settings=spc.preset("mdc", shift_length=8), baseline=15)
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["settings"]["preset"] == "mdc" and data["settings"]["shift_length"] == 8
    assert data["settings"]["screen"] is False and data["settings"]["baseline"] == 15
    point = data["points"][0]
    assert point["moving_range"] is None and point["rules"] == [] and point["special_cause"] == "none"
    assert set(point) >= {"period", "value", "mean", "lpl", "upl", "moving_range", "rules", "special_cause",
                          "trial"}
    assert data["variation"] == "common_cause" and data["assurance"] == "consistently_fail"


def test_a_flat_line_has_no_special_cause() -> None:
    r = spc.chart([5.0] * 15)
    assert r.points["lpl"].eq(5).all() and r.variation == "common_cause"


@pytest.mark.parametrize(("call", "words"), [
    (lambda: spc.chart([1.0]), "at least 2"),
    (lambda: spc.chart([1.0, 2.0], [1, 1]), "more than once"),
    (lambda: spc.chart([1.0, float("nan"), 3.0]), "missing"),
    (lambda: spc.chart([1.0, 2.0], [1, 2, 3]), "2 values but 3 periods"),
    (lambda: spc.chart(STEADY, improvement="up"), "improvement"),  # type: ignore[arg-type]
    (lambda: spc.chart(STEADY, target=float("inf")), "target"),
    (lambda: spc.chart(STEADY, baseline=1), "baseline"),
    (lambda: spc.chart(STEADY, months(20), rebase=["2030-01-01"]), "after the last period"),
    (lambda: spc.chart(STEADY, months(20), rebase=["2020-01-01"]), "not after the first period"),
    (lambda: spc.chart(STEADY, rebase=[20]), "needs at least 2"),
    (lambda: spc.preset("excel"), "preset"),
    (lambda: spc.preset("default", colour="red"), "unknown setting"),
    (lambda: spc.preset("default", shift_length=1), "shift_length"),
    (lambda: spc.preset("default", conflict="loudest"), "conflict"),
    (lambda: spc.preset("default", precedence=("trend",)), "precedence"),
])
def test_input_it_cannot_chart_is_refused_with_a_reason(call: object, words: str) -> None:
    with pytest.raises(InputError, match=words):
        call()  # type: ignore[operator]
