"""The board pack's series refuse a month the store does not cover whole (it once came back silently as
the store's last month) and read a plan before measuring anything."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from spec_tables import build

from icsys.dataset.store import Store
from icsys.performance.frame import MeasureError
from icsys.performance.series import board_series
from icsys.performance.trajectory import TrajectoryError

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-02-01 10:00:00 | 2025-02-01 12:00:00
"""


def store_covering(tmp_path: Path, start: str, end: str) -> Path:
    db = build(tmp_path, ae_attendance=AE)
    con = duckdb.connect(str(db))
    con.execute("INSERT OR REPLACE INTO icsys_meta VALUES ('period_start', ?), ('period_end', ?)",
                [f'"{start}"', f'"{end}"'])
    con.close()
    return db


@pytest.mark.parametrize(("month", "allowed"), [("2025-04", True), ("2025-01", True), ("2024-12", False),
                                                 ("2025-05", False)])
def test_a_month_must_be_covered_whole(tmp_path: Path, month: str, allowed: bool) -> None:
    db = store_covering(tmp_path, "2024-12-15", "2025-04-30")  # whole months: January to April 2025
    if allowed:
        assert board_series(Store.open(db), "RPA", month, months=2)["period"].max() == f"{month}-01"
    else:
        with pytest.raises(MeasureError, match=f"month {month}: .* covers 2024-12-15 to 2025-04-30; use a month "
                                               "from 2025-01 to 2025-04"):
            board_series(Store.open(db), "RPA", month, months=2)


def test_a_store_ending_mid_month_has_not_got_that_month(tmp_path: Path) -> None:
    db = store_covering(tmp_path, "2025-01-01", "2025-04-15")
    with pytest.raises(MeasureError, match="use a month from 2025-01 to 2025-03"):
        board_series(Store.open(db), "RPA", "2025-04")


def test_a_bad_plan_is_refused_before_measuring(tmp_path: Path) -> None:
    db = store_covering(tmp_path, "2025-01-01", "2025-04-30")
    plan = tmp_path / "plan.csv"
    plan.write_text("standard,org,month,planned\nae_4h,RPA,2025-13,60\n")
    with pytest.raises(TrajectoryError, match="row 2: month '2025-13' is not a month"):
        board_series(Store.open(db), "RPA", "2025-03", plan=plan)
