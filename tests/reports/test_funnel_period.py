"""The board pack's funnel plots over a quarter or a financial year, as analysts compare practices over a
year: the period compared is the last whole one ending with the month reported, a practice's counts are
those of the whole period (for an event standard, the sum of its months), and the pack says which period."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from icsys.dataset.store import Store
from icsys.performance.catalogue import load_catalogue
from icsys.performance.measure import measure_store
from icsys.performance.organisations import Hierarchy
from icsys.reports.board.content import period_words
from icsys.reports.board.pack import BoardError, compared_period, comparisons
from icsys.system import load_system

COVERED = (date(2023, 4, 1), date(2026, 3, 31))


@pytest.mark.parametrize(("month", "period", "window"), [
    (date(2026, 3, 1), "month", (date(2026, 3, 1), date(2026, 3, 31))),
    (date(2026, 3, 1), "quarter", (date(2026, 1, 1), date(2026, 3, 31))),  # March closes quarter 4
    (date(2026, 2, 1), "quarter", (date(2025, 10, 1), date(2025, 12, 31))),  # January-March is not whole yet
    (date(2026, 3, 1), "year", (date(2025, 4, 1), date(2026, 3, 31))),  # financial year 2025/26
    (date(2026, 1, 1), "year", (date(2024, 4, 1), date(2025, 3, 31))),  # 2025/26 not whole: 2024/25
])
def test_the_period_compared_is_the_last_whole_one_ending_with_the_month(month, period, window) -> None:
    assert compared_period(month, period, COVERED) == window


def test_a_period_the_store_does_not_cover_whole_is_refused() -> None:
    with pytest.raises(BoardError, match="runs 2023-04-01 to 2024-03-31, but the store covers 2023-05-01"):
        compared_period(date(2024, 3, 1), "year", (date(2023, 5, 1), date(2026, 3, 31)))
    with pytest.raises(BoardError, match="use month, quarter or year"):
        compared_period(date(2026, 3, 1), "week", COVERED)


def test_the_period_in_words() -> None:
    assert period_words(date(2026, 3, 1), "month") == "March 2026"
    assert period_words(date(2026, 1, 1), "quarter") == "January to March 2026 (quarter 4 of 2025/26)"
    assert period_words(date(2025, 4, 1), "quarter") == "April to June 2025 (quarter 1 of 2025/26)"
    assert period_words(date(2025, 10, 1), "quarter") == "October to December 2025 (quarter 3 of 2025/26)"
    assert period_words(date(2025, 4, 1), "year") == "April 2025 to March 2026 (financial year 2025/26)"


def test_a_quarter_s_funnel_holds_each_pcn_s_three_months(fixture_store: Path) -> None:
    catalogue, hierarchy = load_catalogue(), Hierarchy(load_system())
    window = compared_period(date(2026, 3, 1), "quarter", COVERED)
    with Store.open(fixture_store) as store:
        panels, icps = comparisons(store, hierarchy.get("QKS"), date(2026, 3, 1), catalogue=catalogue,
                                   hierarchy=hierarchy, period="quarter", window=window)
        month, _ = comparisons(store, hierarchy.get("QKS"), date(2026, 3, 1), catalogue=catalogue,
                               hierarchy=hierarchy)
        found = {(p.standard, p.level): p for p in panels}
        pcns = list(found["ae_4h", "pcn"].points["org"])
        monthly = measure_store(store, standards=["ae_4h", "rtt_18w"], period="month", start=window[0],
                                end=window[1], catalogue=catalogue, hierarchy=hierarchy, orgs=pcns)
    ae = monthly[monthly["standard"] == "ae_4h"].groupby("org")[["numerator", "denominator"]].sum()
    points = found["ae_4h", "pcn"].points.set_index("org")
    # an event standard: the quarter's attendances are its months' attendances
    assert points["numerator"].to_dict() == pytest.approx(ae["numerator"].to_dict())
    assert points["denominator"].to_dict() == pytest.approx(ae["denominator"].to_dict())
    # a census standard: the quarter's waiting list is the one at its last day, 31 March (not three lists)
    march = monthly[(monthly["standard"] == "rtt_18w") & (monthly["period"] == "2026-03-01")].set_index("org")
    rtt = found["rtt_18w", "pcn"].points.set_index("org")
    assert rtt["denominator"].to_dict() == pytest.approx(march.loc[rtt.index, "denominator"].to_dict())
    # three months place more PCNs than one: in March alone nearly all rest on fewer than 8 attendances
    placed = {(p.standard, p.level): len(p.placed) for p in month}
    assert len(found["ae_4h", "pcn"].placed) > placed.get(("ae_4h", "pcn"), 0)
    assert found["ae_4h", "pcn"].period_words == "January to March 2026 (quarter 4 of 2025/26)"
    assert "in January to March 2026 (quarter 4 of 2025/26)" in found["ae_4h", "pcn"].sentence
    assert set(icps["org"]) == {o.code for o in hierarchy.of_kind("icp")}
