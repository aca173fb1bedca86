"""On a synthetic Kent and Medway the standards land where the README's calibration table says the
synthetic data lies, beside the published figures (../shared/reference/calibration.md)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from icsys.dataset.store import Store
from icsys.performance.measure import measure_store

# standard: (low, high) for the whole three years at ICS level; README (synthetic / published)
EXPECTED = {
    "ae_4h": (70, 80),  # 75.5 % / 72-76 %
    "ae_4h_type1": (55, 66),  # 60.8 % / 58 %
    "ae_12h": (7, 15),  # type 1 over 12 hours 10.4 % at full scale / more than 1 in 10, 1 in 8 in December 2024
    "amb_c1_mean": (6.5, 9.5),  # 7.7 min / 8-8.7
    "amb_c2_mean": (27, 38),  # 32.5 min / 32-36
    "emergency_admissions_rate": (90, 125),  # 104 per 1,000 / ~110
    "delayed_transfer_rate": (11, 22),  # bed time after ready for discharge ~15 % / 13 %, South East 16.5 %
    "bed_occupancy": (86, 100),  # ~93 % / 92-94 %
    "dementia_diagnosis_rate": (55, 75),  # ~63 % / 65.4 %
    "rtt_18w": (57, 70),  # 63 % / 59.8 %
    "rtt_52w": (1.5, 6),  # 3.5 % / 2.6-3.7 %
    "cancer_fds_28d": (72, 83),  # 77 % / 76.6 %
    "cancer_62d": (62, 76),  # 69 % / 69.2 %
    "cancer_31d": (88, 97),  # 93 % / 92.4 %
}


@pytest.fixture(scope="module")
def store(synthetic_store):
    return synthetic_store(0.02, 3, 11)


@pytest.fixture(scope="module")
def rows(store):
    return measure_store(Store.open(store), standards=list(EXPECTED), org="QKS", period="month")


@pytest.mark.parametrize("standard", list(EXPECTED))
def test_standard_within_the_calibrated_range(rows, standard: str) -> None:
    mine = rows[rows.standard == standard]
    assert len(mine) == 36  # April 2023 to March 2026
    scale = {"emergency_admissions_rate": 1000.0, "amb_c1_mean": 1.0, "amb_c2_mean": 1.0}.get(standard, 100.0)
    overall = scale * mine.numerator.sum() / mine.denominator.sum()
    low, high = EXPECTED[standard]
    assert low <= overall <= high


def test_winter_is_worse_than_summer_for_four_hours(rows) -> None:
    """Seasonality: December to February below June to August in every year."""
    four = rows[rows.standard == "ae_4h"].set_index("period").value
    for year in (2023, 2024, 2025):
        winter = four[[f"{year}-12-01", f"{year + 1}-01-01", f"{year + 1}-02-01"]].mean()
        summer = four[[f"{year}-06-01", f"{year}-07-01", f"{year}-08-01"]].mean()
        assert winter < summer


def test_one_connection_or_two_give_the_same_rows(store) -> None:
    """measure_store shares the standards among connections; the rows do not depend on how."""
    alone = measure_store(Store.open(store), org="EK", period="month", workers=1)
    shared = measure_store(Store.open(store), org="EK", period="month", workers=2)
    assert len(alone) == 36 * 48  # every standard but the three of beds is measured for an ICP, 36 months
    pd.testing.assert_frame_equal(alone, shared)


def test_periods_the_store_covers_in_part_are_left_out(store) -> None:
    """The store ends on Tuesday 31 March 2026: the week from Monday 30 March is not whole."""
    weeks = measure_store(Store.open(store), standards=["rtt_18w"], org="QKS", period="week", start=date(2026, 3, 18))
    assert weeks.period.tolist() == ["2026-03-16", "2026-03-23"]
    months = measure_store(Store.open(store), standards=["ae_4h"], org="QKS", start=date(2026, 2, 10),
                           end=date(2027, 1, 1))
    assert months.period.tolist() == ["2026-02-01", "2026-03-01"]  # widened to whole months, within the store
