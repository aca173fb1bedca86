"""Trajectories: a validated plan, the variance against the actual measure, on or off track."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_tables import build

from icsys.dataset.store import Store
from icsys.performance.trajectory import TrajectoryError, trajectories

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 12:00:00
  2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 15:00:00
  3         | RPA02     | 1               | 2025-04-01 10:00:00 | 2025-04-01 11:00:00
  4         | RPA02     | 1               | 2025-04-01 10:00:00 | 2025-04-02 11:00:00
"""


def plan(tmp_path: Path, text: str, name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_text(text.strip() + "\n")
    return path


def test_variance_and_on_track_in_the_standards_direction(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    rows = trajectories(Store.open(db), plan(tmp_path, """
standard,org,month,planned
ae_4h,RPA,2025-03,50
ae_4h,RPA,2025-04,60
ae_12h,RPA02,2025-04,60
ae_12h,RPA02,2025-05,10
"""))
    got = {(r.standard, r.month): (r.actual, r.variance, r.on_track) for r in rows.itertuples()}
    assert got[("ae_4h", "2025-03")] == (50, 0, True)  # 1 of 2 within 4 hours: exactly as planned
    assert got[("ae_4h", "2025-04")] == (50, -10, False)  # higher is better: below plan is off track
    assert got[("ae_12h", "2025-04")] == (50, -10, True)  # lower is better: below plan is on track
    actual, variance, on_track = got[("ae_12h", "2025-05")]
    assert actual != actual and variance != variance and on_track is None  # nothing counted: no verdict
    targets = rows[rows.month == "2025-04"].target.tolist()  # sorted by standard: ae_12h, ae_4h
    assert targets[0] != targets[0] and targets[1] == 78  # RCEM's 2 % for ae_12h is not a target


def test_toml_plan(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    rows = trajectories(Store.open(db), plan(tmp_path, """
[[trajectory]]
standard = "ae_4h"
org = "QKS"
planned = { "2025-03" = 40.0, "2025-04" = 45.5 }
""", "plan.toml"))
    assert rows.planned.tolist() == [40.0, 45.5] and rows.on_track.tolist() == [True, True]


def test_every_bad_row_is_named(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    bad = plan(tmp_path, """
standard,org,month,planned
ae_4h,RPA,2025-13,x
nope,ZZ,2025-01,1
dementia_diagnosis_rate,RPA02,2025-01,60
ae_4h,RPA,2025-01,1
ae_4h,RPA,2025-01,2
""")
    with pytest.raises(TrajectoryError) as caught:
        trajectories(Store.open(db), bad)
    message = str(caught.value)
    for expected in ("row 2: month '2025-13' is not a month", "row 2: planned 'x' is not a number",
                     "row 3: standard 'nope' is not in the catalogue", "row 3: org 'ZZ' is not an organisation",
                     "row 4: standard 'dementia_diagnosis_rate' is not measured for a site",
                     "row 6: ae_4h for RPA in 2025-01 is planned again (first at row 5)"):
        assert expected in message


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("plan.csv", "standard,org\nae_4h,RPA", "missing column(s) month, planned"),
    ("plan.csv", "standard,org,month,planned", "the plan has no rows"),
    ("plan.toml", "[[trajectory]]\nstandard = 'ae_4h'\norg = 'RPA'", "trajectory 1: no planned"),
    ("plan.toml", "trajectory = [", "not valid TOML"),
    ("plan.txt", "x", "a plan is a .csv or .toml file"),
])
def test_unusable_plan_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    db = build(tmp_path, ae_attendance=AE)
    with pytest.raises(TrajectoryError) as caught:
        trajectories(Store.open(db), plan(tmp_path, text, name))
    assert expected in str(caught.value)
