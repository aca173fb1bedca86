"""For a board pack: every standard that applies to one organisation, monthly, with target and trajectory."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_tables import build

from icsys.dataset.store import Store
from icsys.performance.catalogue import load_catalogue
from icsys.performance.frame import MeasureError
from icsys.performance.series import board_series

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-02-01 10:00:00 | 2025-02-01 12:00:00
  2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 15:00:00
  3         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 11:00:00
"""


def test_every_standard_of_a_trust_by_month_with_target_and_trajectory(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    plan = tmp_path / "plan.csv"
    plan.write_text("standard,org,month,planned\nae_4h,RPA,2025-03,60\nae_4h,RN7,2025-03,99\n")
    series = board_series(Store.open(db), "RPA", "2025-03", months=2, plan=plan)
    per_trust = [s.id for s in load_catalogue().live if s.rule not in (  # the retired standard left out
        "emergency_admission_rate", "dementia_diagnosis", "health_check", "gp_appointment_wait",
        "blood_pressure_to_target")]
    assert sorted(series.standard.unique()) == sorted(per_trust)  # population measures are not a trust's
    four = series[series.standard == "ae_4h"].set_index("period")
    assert four.loc["2025-02-01", "value"] == 100 and four.loc["2025-03-01", "value"] == 50
    assert four.loc["2025-03-01", "target"] == 78 and four.loc["2025-03-01", "name"] == "A&E 4 hours, all types"
    assert four.loc["2025-03-01", "planned"] == 60 and four.loc["2025-03-01", "on_track"] is False
    assert four.loc["2025-02-01", "planned"] != four.loc["2025-02-01", "planned"]  # none planned for February


def test_a_month_must_be_a_month(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    with pytest.raises(MeasureError, match="use YYYY-MM"):
        board_series(Store.open(db), "RPA", "2025-3")
