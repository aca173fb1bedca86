"""The board pack withholds a month whose follow-up runs past the store's last day (a 30-day readmission):
a March discharge has had only part of its 30 days when the store ends on 31 March."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from icsys.performance.catalogue import load_catalogue
from icsys.reports.board.content import commentary_of
from icsys.reports.board.pack import _panel, follow_up_days, withhold_incomplete


def rows() -> pd.DataFrame:
    months = ["2026-01-01", "2026-02-01", "2026-03-01"]
    return pd.DataFrame({
        "standard": ["readmission_30d"] * 3 + ["ae_4h"] * 3,
        "period": months * 2,
        "numerator": [30.0, 28.0, 10.0, 700.0, 710.0, 720.0],
        "denominator": [200.0, 190.0, 300.0, 1000.0, 1000.0, 1000.0],
        "value": [15.0, 28 / 1.9, 10 / 3, 70.0, 71.0, 72.0],
    })


def test_the_readmission_standard_waits_its_30_days() -> None:
    assert follow_up_days(load_catalogue()) == {"readmission_30d": 30}


def test_a_month_without_its_whole_follow_up_is_withheld() -> None:
    # store ends 31 March: February's discharges are complete on 30 March (28 Feb + 30 days), March's on 30 April
    out = withhold_incomplete(rows(), load_catalogue(), (date(2023, 4, 1), date(2026, 3, 31)))
    readmission = out[out["standard"] == "readmission_30d"]
    assert readmission["numerator"].tolist()[:2] == [30.0, 28.0]
    assert all(math.isnan(v) for v in readmission.iloc[2][["numerator", "denominator", "value"]])
    assert out[out["standard"] == "ae_4h"]["value"].tolist() == [70.0, 71.0, 72.0]  # no follow-up: untouched


def test_an_earlier_end_withholds_more_months() -> None:
    # store ends 15 March: January is complete on 2 March, February only on 30 March
    out = withhold_incomplete(rows(), load_catalogue(), (date(2023, 4, 1), date(2026, 3, 15)))
    values = out[out["standard"] == "readmission_30d"]["value"].tolist()
    assert values[0] == 15.0 and math.isnan(values[1]) and math.isnan(values[2])
    assert out["incomplete"].tolist() == [False, True, True, False, False, False]
    untouched = withhold_incomplete(rows(), load_catalogue(), None)
    assert untouched.drop(columns="incomplete").equals(rows()) and not untouched["incomplete"].any()


def test_a_quarter_is_complete_30_days_after_its_last_day() -> None:
    # the quarter January-March ends 31 March: complete on 30 April, so withheld from a store ending 29 April
    quarter = rows()[lambda r: r["period"] == "2026-01-01"]
    assert withhold_incomplete(quarter, load_catalogue(), (date(2023, 4, 1), date(2026, 4, 29)),
                               "quarter")["incomplete"].tolist() == [True, False]
    assert withhold_incomplete(quarter, load_catalogue(), (date(2023, 4, 1), date(2026, 4, 30)),
                               "quarter")["incomplete"].tolist() == [False, False]


def test_the_commentary_says_the_month_is_not_complete_and_the_chart_leaves_it_out() -> None:
    out = withhold_incomplete(rows(), load_catalogue(), (date(2023, 4, 1), date(2026, 3, 31)))
    readmission = out[out["standard"] == "readmission_30d"].assign(
        name="Emergency readmissions within 30 days", domain="hospital flow", unit="%", direction="lower",
        target=None, planned=None, planned_of=None, variance=None, on_track=None)
    panel = _panel("readmission_30d", readmission, date(2026, 3, 1), {})
    assert panel.pending == (date(2026, 3, 1),)
    text = commentary_of(panel)
    assert text.startswith("14.7% in February 2026 (28 of 190)")
    assert "March 2026 is not complete yet" in text
    assert "1 month is not complete yet" in panel.notes[0]
    assert not any("nothing to count" in n for n in panel.notes)
