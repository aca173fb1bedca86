"""`icsys performance standards | measure | trajectory | escalation` as a user meets them: real
processes, JSON out, bad input refused with a clear message, exit status 2 and no traceback."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from spec_tables import build

from support import assert_clear_error, strict_json
from support import icsys as run

AE = """
  person_id | site_code | department_type | arrival_time        | departure_time
  1         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 12:00:00
  2         | RPA02     | 1               | 2025-03-01 10:00:00 | 2025-03-01 15:00:00
"""


def icsys(*args: str | Path):
    return run("performance", *args)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("cli"), ae_attendance=AE)


def test_standards_lists_the_catalogue_with_dated_thresholds() -> None:
    result = icsys("standards", "--json")
    assert result.returncode == 0, result.stderr
    four = {s["id"]: s for s in strict_json(result.stdout)}["ae_4h"]
    assert {(t["value"], t["from"], t["to"]) for t in four["threshold"]} >= {
        (95.0, "2010-07-01", None), (78.0, "2025-04-01", "2026-03-31")}


def test_standards_shows_each_threshold_its_kind_and_source() -> None:
    result = icsys("standards")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    four = lines[lines.index("ae_4h  A&E 4 hours, all types  [%, higher is better]") + 1:][:5]
    assert four[1].startswith("    95%  from 2010-07-01  constitutional standard: ")
    assert "Handbook to the NHS Constitution" in four[1]
    assert four[4].startswith("    78%  from 2025-04-01 to 2026-03-31  operational planning target 2025/26: ")
    twelve = lines[lines.index("ae_12h  A&E 12 hours from arrival, type 1  [%, lower is better]") + 1]
    assert "professional recommendation" in twelve and "Royal College of Emergency Medicine" in twelve
    assert lines[lines.index("ae_4h_type1  A&E 4 hours, type 1  [%, higher is better]") + 1] == "    no threshold"
    assert "Not measured (the dataset does not hold what they need):" in lines
    listed = {r["id"]: r for r in strict_json(icsys("standards", "--json").stdout)}
    assert listed["out_of_area_placements"]["measured"] is False and "missing" in listed["out_of_area_placements"]


def test_measure_gives_rows_as_json(db: Path) -> None:
    result = icsys("measure", "--db", db, "--standard", "ae_4h", "--org", "RPA02", "--from", "2025-03-01",
                   "--to", "2025-03-31", "--json")
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout) == [{"standard": "ae_4h", "org": "RPA02", "period": "2025-03-01",
                                          "numerator": 1.0, "denominator": 2.0, "value": 50.0, "target": 78.0}]


@pytest.mark.parametrize(("args", "words"), [
    (["--standard", "nope"], ["unknown standard 'nope'", "ae_4h"]),
    (["--org", "XX1"], ["unknown organisation 'XX1'"]),
    (["--period", "fortnight"], ["--period 'fortnight': use day, week, month, quarter or year"]),
    (["--from", "2025-02-30"], ["--from '2025-02-30': not a date"]),
    (["--from", "2025-03-02", "--to", "2025-03-01"], ["--from 2025-03-02 is after --to 2025-03-01"]),
    (["--standard", "dementia_diagnosis_rate", "--org", "RPA02"], ["is not measured for a site (RPA02)"]),
])
def test_measure_refuses_bad_input(db: Path, args: list[str], words: list[str]) -> None:
    assert_clear_error(icsys("measure", "--db", db, "--from", "2025-03-01", "--to", "2025-03-31", *args), *words)


def test_measure_without_dates_needs_a_store_that_records_them(db: Path, tmp_path: Path) -> None:
    assert_clear_error(icsys("measure", "--db", db), "give --from and --to")
    missing = icsys("measure", "--db", tmp_path / "none.duckdb", "--from", "2025-03-01", "--to", "2025-03-31")
    assert_clear_error(missing, "no such store")


def test_trajectory(db: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("standard,org,month,planned\nae_4h,RPA,2025-03,45\n")
    rows = strict_json(icsys("trajectory", "--db", db, "--plan", plan, "--json").stdout)
    assert rows == [{"standard": "ae_4h", "org": "RPA", "month": "2025-03", "of": "value", "planned": 45.0,
                     "actual": 50.0, "variance": 5.0, "on_track": True, "target": 78.0}]
    plan.write_text("standard,org,month,planned\nae_4h,RPA,2025-03,lots\n")
    assert_clear_error(icsys("trajectory", "--db", db, "--plan", plan), "row 2: planned 'lots' is not a number")


def test_escalation_writes_the_history_and_shows_reasons(tmp_path: Path) -> None:
    db = build(tmp_path, ae_attendance=AE)
    result = icsys("escalation", "--db", db, "--from", "2025-03-01", "--to", "2025-03-01", "--json")
    assert result.returncode == 0, result.stderr
    status = {r["org"]: r for r in strict_json(result.stdout)}
    assert status["RPA02"]["indicators"]["four_hours"] == 50.0
    assert {"indicator": "four_hours", "name": "A&E 4-hour performance, all types", "value": 50.0, "level": 4,
            "trigger": 60.0} in status["RPA02"]["reasons"]
    assert status["QKS"]["kind"] == "ics" and status["QKS"]["level"] in (1, 2, 3, 4)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM opel_status").fetchone()[0] == len(status)
    screen = icsys("escalation", "--db", db, "--from", "2025-03-01", "--to", "2025-03-01")
    assert "ICS OPEL" in screen.stdout and "A&E 4-hour performance, all types 50 (OPEL 4 at 60)" in screen.stdout
    assert_clear_error(icsys("escalation", "--db", db, "--config", tmp_path / "none.toml"),
                       "no such escalation framework")
