"""Quarters (calendar quarters, the NHS's financial quarters) and financial years (April to March) as periods
of the measure engine: events counted in the quarter or year they happen, a census on its last day, rates
over its days. Hand-drawn tables, on DuckDB, and the same on Spark."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from spec_tables import OnSpark, build, measure_on

from icsys.performance.frame import MeasureError, next_period, period_start

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-01-02 10:00:00 | 2025-01-02 11:00:00
  2         | RPA02     | 1               | 2025-02-10 10:00:00 | 2025-02-10 15:00:00
  3         | RPA02     | 1               | 2025-03-31 23:00:00 | 2025-04-01 01:00:00
  4         | RPA02     | 1               | 2024-12-31 23:59:59 | 2025-01-01 08:00:00
  5         | RPA02     | 1               | 2025-04-01 00:00:00 | 2025-04-01 01:00:00
  6         | RPA02     | 1               | 2024-04-01 09:00:00 | 2024-04-01 09:30:00
"""

RTT = """
  person_id | provider_code | specialty | clock_start | clock_stop
  1         | RPA           | 110       | 2025-01-10  |
  2         | RPA           | 110       | 2025-01-10  | 2025-02-15
  3         | RPA           | 110       | 2024-06-01  |
"""


def rows(db: Path, standard: str, period: str, start: date, end: date,
         engine: str | OnSpark = "duckdb") -> dict[str, tuple[float, float]]:
    got = measure_on(engine, db, standards=[standard], org="QKS", period=period, start=start, end=end)
    return {r.period: (r.numerator, r.denominator) for r in got.itertuples()}


def test_quarter_and_financial_year_boundaries() -> None:
    assert period_start(date(2025, 2, 14), "quarter") == date(2025, 1, 1)
    assert next_period(date(2025, 1, 1), "quarter") == date(2025, 4, 1)
    assert next_period(date(2025, 10, 1), "quarter") == date(2026, 1, 1)
    assert period_start(date(2025, 3, 31), "year") == date(2024, 4, 1)  # March closes the financial year
    assert period_start(date(2025, 4, 1), "year") == date(2025, 4, 1)
    assert next_period(date(2024, 4, 1), "year") == date(2025, 4, 1)


def test_events_count_in_the_quarter_and_the_financial_year_they_arrive_in(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    # January-March 2025: 1, 2 and 3 arrived (3 at 23:00 on 31 March); 4 arrived in December, 5 in April.
    # Within 4 hours: 1 (1 h) and 3 (2 h); 2 took 5 hours.
    assert rows(db, "ae_4h", "quarter", date(2025, 1, 1), date(2025, 3, 31)) == {"2025-01-01": (2, 3)}
    # Financial year 2024/25 (1 April 2024 to 31 March 2025): 6, 4, 1, 2, 3; within 4 hours all but 2 and 4.
    assert rows(db, "ae_4h", "year", date(2024, 4, 1), date(2025, 3, 31)) == {"2024-04-01": (3, 5)}
    # Asked from a day inside the year, the whole year is measured (as for months)
    assert rows(db, "ae_4h", "year", date(2024, 9, 1), date(2025, 2, 1)) == {"2024-04-01": (3, 5)}


def test_a_census_standard_takes_the_quarter_s_last_day(tmp_path: Path) -> None:
    db = build(tmp_path, rtt_pathway=RTT)
    # census 31 March 2025: 1 waiting 80 days (11 weeks: within 18), 3 waiting 303 days (43 weeks); 2 stopped
    # in February, so is not on the list although it waited inside the quarter
    assert rows(db, "rtt_18w", "quarter", date(2025, 1, 1), date(2025, 3, 31)) == {"2025-01-01": (1, 2)}


def test_an_unknown_period_is_refused_naming_the_choices(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    with pytest.raises(MeasureError, match="use day, week, month, quarter or year"):
        rows(db, "ae_4h", "fortnight", date(2025, 1, 1), date(2025, 3, 31))


def test_spark_counts_the_same_quarters_and_years(tmp_path: Path, spark) -> None:
    db = build(tmp_path, ae_attendance=AE)
    on_spark = OnSpark(spark)
    assert rows(db, "ae_4h", "quarter", date(2025, 1, 1), date(2025, 3, 31), on_spark) == {"2025-01-01": (2, 3)}
    assert rows(db, "ae_4h", "year", date(2024, 4, 1), date(2025, 3, 31), on_spark) == {"2024-04-01": (3, 5)}
