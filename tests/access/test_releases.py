"""Each release of person-level rows writes exactly one audit record with the right count, cut to what the
actor's role may see, on a store of three people drawn by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from icsys.access import AccessDenied, Actor, Auditor, open_audit
from icsys.access.audit import beside
from icsys.dataset.export import export_table
from icsys.dataset.store import append, open_store
from icsys.population.cohort import Cohort, run

ANALYST = Actor("asha", ("analyst",))
CLINICIAN = Actor("grace", ("clinician",), organisations=("G82100",), purpose="direct care")
IDENTIFIERS = {"nhs_number", "birth_date", "death_date", "postcode"}
ADMITTED = Cohort.model_validate({"name": "Admitted", "description": "an emergency admission this year",
                                  "criteria": [{"activity": "emergency_admissions", "days": 365, "at_least": 1,
                                                "reason": "{emergency_admissions} emergency admission(s)"}]})


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Persons 1 and 3 at G82100, person 2 at G82101; emergency spells for 1 (twice) and 2, an elective for 3."""
    db = tmp_path / "s.duckdb"
    con = open_store(db)
    append(con, "person", pa.Table.from_pylist([
        {"person_id": pid, "nhs_number": nhs, "sex": "F", "birth_date": date(1940 + pid, pid, 1), "ethnicity": "A",
         "practice_code": practice, "registration_start": date(2000, 1, 1)}
        for pid, nhs, practice in [(1, "9434765919", "G82100"), (2, "9434765870", "G82101"),
                                   (3, "9434765862", "G82100")]]))
    append(con, "inpatient_spell", pa.Table.from_pylist([
        {"spell_id": i + 1, "person_id": pid, "site_code": "RPA02", "admission_time": datetime(2025, month, 2, 10),
         "admission_method": method, "patient_classification": "1", "specialty": "300", "primary_diagnosis": "J18.9"}
        for i, (pid, month, method) in enumerate([(1, 1, "21"), (1, 2, "21"), (2, 3, "21"), (3, 3, "11")])]))
    con.close()
    return db


def _records(db: Path) -> list[dict]:
    return open_audit(beside(db)).records()


def test_an_analysts_export_is_pseudonymised_and_recorded_once(store: Path, tmp_path: Path):
    out = tmp_path / "people.parquet"
    assert export_table(store, "person", out, auditor=Auditor(ANALYST, beside(store))) == 3
    people = pd.read_parquet(out)
    assert not IDENTIFIERS & set(people.columns)
    assert people.sort_values("person_id")["birth_month"].tolist() == ["1941-01", "1942-02", "1943-03"]
    [record] = _records(store)
    assert (record["actor_user"], record["actor_roles"], record["action"], record["what"], record["people"],
            record["destination"]) == ("asha", "analyst", "export", "table person", 3, str(out))


def test_a_clinicians_export_holds_only_its_practices_people(store: Path, tmp_path: Path):
    out = tmp_path / "spells.csv"
    assert export_table(store, "inpatient_spell", out, auditor=Auditor(CLINICIAN, beside(store))) == 3
    assert sorted(pd.read_csv(out)["spell_id"]) == [1, 2, 4]  # persons 1 and 3, not 2
    [record] = _records(store)
    assert (record["people"], record["actor_organisations"], record["purpose"]) == (2, "G82100", "direct care")


def test_a_refused_export_writes_neither_file_nor_record(store: Path, tmp_path: Path):
    out = tmp_path / "q.csv"
    with pytest.raises(AccessDenied, match="pseudonymised rows only"):
        export_table(store, "quarantine", out, auditor=Auditor(ANALYST, beside(store)))
    assert not out.exists() and _records(store) == []


def test_a_cohort_list_is_scoped_pseudonymised_and_recorded_once(store: Path):
    analyst = run(store, ADMITTED, date(2025, 3, 31), auditor=Auditor(ANALYST, beside(store)))
    assert analyst["person_id"].tolist() == [1, 2]
    assert not IDENTIFIERS & set(analyst.columns) and "birth_month" in analyst.columns
    clinician = run(store, ADMITTED, date(2025, 3, 31), auditor=Auditor(CLINICIAN, beside(store)), out="mdt.xlsx")
    assert clinician["person_id"].tolist() == [1] and clinician["nhs_number"].tolist() == ["9434765919"]
    assert [(r["actor_user"], r["action"], r["people"], r["destination"]) for r in _records(store)] == [
        ("asha", "list", 2, "screen"), ("grace", "export", 1, "mdt.xlsx")]


def icsys(config: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "ICSYS_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "icsys", *map(str, args)], capture_output=True, text=True, env=env)


def test_command_line_roles(store: Path, tmp_path: Path):
    analyst, manager = tmp_path / "analyst.toml", tmp_path / "manager.toml"
    analyst.write_text('role = "analyst"\n')
    manager.write_text('role = "data_manager"\npurpose = "data quality"\n')
    people = tmp_path / "p.csv"
    people.write_text("person_id,nhs_number,sex,birth_date,ethnicity,practice_code,registration_start\n")
    refused = icsys(analyst, "load", people, "--db", store, "--table", "person")
    assert refused.returncode == 2 and "may not load: that needs the role data_manager" in refused.stderr
    assert "Traceback" not in refused.stderr
    out = tmp_path / "person.csv"
    assert icsys(analyst, "export", "--db", store, "--table", "person", "--out", out).returncode == 0
    assert "nhs_number" not in pd.read_csv(out).columns
    assert icsys(analyst, "audit", "log", "--db", store).returncode == 2  # an analyst does not read the log
    log = icsys(manager, "audit", "log", "--db", store, "--json")
    assert log.returncode == 0, log.stderr
    [record] = json.loads(log.stdout)
    assert (record["actor_roles"], record["action"], record["people"]) == ("analyst", "export", 3)
